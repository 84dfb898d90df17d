"""The Gradio UI: one module per tab, each a `build_*_tab()` function that adds its widgets and
events inside the caller's `gr.Tab`. Handlers hold no tensor code: they call `ui.logic`, which
calls the pipelines. `app.py` at the repository root puts the tabs together."""
