// The Draw tab's drawing surface: gr.HTML js_on_load. Gradio runs this with `element` (the
// component's root), `props` (models, model, examples, max_seed, coats, value), `server` (the Python
// server functions render / render_png) and `watch`.
//
// The Facades tab uses the same surface with label classes instead of a black pen: `props.palette`
// ([[name, '#rrggbb'], ...]) shows one swatch per class and paints with the chosen class colour,
// `props.background` is the canvas colour (and the eraser's), `props.rect` adds a rectangle tool
// (drag to fill a box), `props.random` a button that asks `server.random_drawing` for a new layout,
// and `props.hint` / `props.empty_models` / `props.download_prefix` replace the Draw tab's texts.
// `props.enhance` (the Draw tab, when an SRGAN model is installed) adds a 1024² "Enhance ×4" download.
// With a palette the drawing is sent without smoothing (nearest-neighbour shrink: no blended colours).
//
// A finished stroke -> the 512² canvas is shrunk to the model's 256², sent as one small PNG data
// URL to server.render (a single POST, no upload, no queue), and the JPEG that comes back is shown.
// At most one request is in flight; strokes made meanwhile are coalesced into the next request,
// and a reply for a drawing that has changed since it was sent is dropped (stale). With `props.fair`
// (the Draw tab: the server's fair queue keeps one waiting drawing per page and replaces it with a newer
// one, answered {superseded}) a new drawing is sent at once instead, with the page's random id `page` and
// `seq`, its count of requests (requests can overtake each other on the way; the larger seq is the newer). Results are
// cached by drawing state, so undo / redo show the earlier picture at once. During a long stroke a
// preview is sent every PREVIEW_MS (when nothing is in flight).
(function () {
  const root = element.querySelector('.p2p');
  const canvas = root.querySelector('.p2p-canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: false });
  const picture = root.querySelector('.p2p-picture');
  const hint = root.querySelector('.p2p-hint');
  const status = root.querySelector('.p2p-status');
  const modelSelect = root.querySelector('[data-role=model]');
  const seedInput = root.querySelector('[data-role=seed]');
  const sizeInput = root.querySelector('[data-role=size]');
  const sizeValue = root.querySelector('[data-role=size-value]');
  const downloadSize = root.querySelector('[data-role=download-size]');
  const coatBox = root.querySelector('.p2p-coats');
  const coatLabel = coatBox.querySelector('.p2p-label');
  const coatList = root.querySelector('.p2p-coat-list');
  const coatName = root.querySelector('[data-role=coat-name]');
  const furBox = root.querySelector('.p2p-fur');
  const furInput = root.querySelector('[data-role=fur]');
  const holesBox = root.querySelector('.p2p-holes');
  const holesInput = root.querySelector('[data-role=holes]');
  const button = (name) => root.querySelector('[data-action=' + name + ']');
  const palette = Array.isArray(props.palette) && props.palette.length ? props.palette : null; // [[name, hex]]
  const PAPER = props.background || '#ffffff';
  const SEND_SIZE = 256; // the model's resolution: what the server needs, and ~4x fewer bytes
  const PREVIEW_MS = 300; // while a stroke goes on, a picture of it at most this often
  const MAX_SEED = props.max_seed || 10000;
  const FAIR = !!props.fair;
  const PAGE = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
  if (props.hint) hint.textContent = props.hint;
  if (props.enhance) { // the SRGAN model is there: a 1024² download, the picture enlarged ×4 (live.render_png)
    const option = document.createElement('option');
    option.value = '1024'; option.textContent = '1024² ×4';
    downloadSize.appendChild(option);
    downloadSize.title += '; 1024² enlarges the picture ×4 with the SRGAN model';
  }
  const EMPTY_HINT = hint.textContent;

  const state = {
    tool: 'pen', sizes: { pen: palette ? 24 : 4, eraser: palette ? 32 : 16, rect: 0 },
    colour: palette ? palette[Math.min(palette.length - 1, props.ink || 0)][1] : '#000000', // what the pen paints
    // ops: {kind: 'stroke', tool, size, colour, points} | {kind: 'rect', colour, box} | {kind: 'load', image} | {kind: 'clear'}
    history: [], redo: [],
    stroke: null, nextId: 1, coat: '', // coat: the cat's colour, for models that take one (props.coats)
    version: 0, inFlight: 0, pending: false, shownKey: null, // inFlight: requests sent, not answered yet
    seq: 0, // requests sent by this page (the server's fair queue keeps the newest of a page's waiting ones)
    cache: new Map(), // drawing state key -> {image, width, height}
    stats: [], // per request: {version, bytes, ms, serverMs, batch, dropped, preview}
  };

  // ------------------------------------------------------------------ controls
  for (const [label, key] of props.models || []) {
    const option = document.createElement('option');
    option.value = key; option.textContent = label;
    modelSelect.appendChild(option);
  }
  if (props.model) modelSelect.value = props.model;
  if (!modelSelect.options.length) {
    modelSelect.disabled = true;
    showStatus(props.empty_models || 'No pix2pix model found in weights/', true);
  }

  const exampleList = root.querySelector('.p2p-example-list');
  for (const example of props.examples || []) {
    const item = document.createElement('button');
    item.type = 'button'; item.className = 'p2p-example'; item.title = 'Load "' + example.caption + '" into the canvas';
    item.dataset.example = example.name;
    const thumb = document.createElement('img');
    thumb.src = example.png; thumb.alt = '';
    const caption = document.createElement('span');
    caption.className = 'p2p-example-caption'; caption.textContent = example.caption;
    item.append(thumb, caption);
    item.addEventListener('click', () => loadDrawing(example.png, example.model));
    exampleList.appendChild(item);
  }

  function setTool(tool) {
    state.tool = tool;
    for (const b of root.querySelectorAll('[data-tool]')) b.setAttribute('aria-pressed', String(b.dataset.tool === tool));
    sizeInput.disabled = tool === 'rect'; // a rectangle is as large as the drag
    if (tool !== 'rect') { sizeInput.value = state.sizes[tool]; sizeValue.textContent = state.sizes[tool]; }
    sizeInput.setAttribute('aria-label', tool === 'eraser' ? 'Eraser size' : 'Pen size');
  }
  // label classes: one named swatch each; choosing one paints with it (and leaves the eraser)
  const paletteBox = root.querySelector('.p2p-palette');
  function renderPalette() {
    for (const swatch of paletteBox.children) swatch.setAttribute('aria-checked', String(swatch.dataset.colour === state.colour));
  }
  if (palette) {
    paletteBox.hidden = false;
    for (const [name, hex] of palette) {
      const swatch = document.createElement('button');
      swatch.type = 'button'; swatch.className = 'p2p-class'; swatch.dataset.colour = hex; swatch.dataset.label = name;
      swatch.title = 'Paint ' + name; swatch.setAttribute('role', 'radio');
      const chip = document.createElement('i');
      chip.style.background = hex;
      swatch.append(chip, document.createTextNode(name));
      swatch.addEventListener('click', () => { state.colour = hex; if (state.tool === 'eraser') setTool('pen'); renderPalette(); });
      paletteBox.appendChild(swatch);
    }
    renderPalette();
  }
  if (props.rect) root.querySelector('[data-tool=rect]').hidden = false;
  if (props.random) {
    button('random').hidden = false;
    button('random').addEventListener('click', async () => {
      let result;
      try { result = await server.random_drawing({ seed: Math.floor(Math.random() * 1e9) }); } catch (error) { result = undefined; }
      if (result && result.png) loadDrawing(result.png, null);
      else showStatus((result && result.error) || 'The server did not answer.', true);
    });
  }
  for (const b of root.querySelectorAll('[data-tool]')) b.addEventListener('click', () => setTool(b.dataset.tool));
  sizeInput.addEventListener('input', () => { state.sizes[state.tool] = Number(sizeInput.value); sizeValue.textContent = sizeInput.value; });
  button('undo').addEventListener('click', undo);
  button('redo').addEventListener('click', redo);
  button('clear').addEventListener('click', () => {
    if (!state.history.length) return;
    commit({ kind: 'clear' });
    if (state.tool === 'eraser') setTool('pen'); // a cleared canvas is for drawing: the next stroke must draw
  });
  // the cat's colour: one swatch per named coat of the chosen model (edges2cats); hidden for others. A
  // colour measured on a photo ("Edit the edges in Draw": value.coat "#rrggbb") adds a swatch "from the
  // photo" for that model, so the picture here has the Photo tab's colour. state.coat: what is sent.
  let photoCoat = null; // {model, hex}
  function modelCoats() {
    const named = ((props.coats || {})[modelSelect.value] || []).map(([name, hex]) => [name, hex, name]);
    if (!named.length || !photoCoat || photoCoat.model !== modelSelect.value) return named;
    return [...named, ['from the photo', photoCoat.hex, photoCoat.hex]];
  }
  // the fur finish (hair strands drawn into the cat): a switch for the models trained on cut-out cats
  // (props.fur_models); it starts as the model's config says (props.fur_defaults: on for edges2cats), the
  // person's choice is kept per model, and what is sent only where it is shown
  const furChoice = {};
  function furShown() { return (props.fur_models || []).includes(modelSelect.value); }
  function currentFur() { return furShown() ? furInput.checked : undefined; }
  furInput.addEventListener('change', () => { furChoice[modelSelect.value] = furInput.checked; update(); });
  // the hole guess (enclosed regions taken for holes painted white): a switch for the models whose config holds
  // one (props.hole_models: edges2products), on by default as the config applies it; kept per model
  const holesChoice = {};
  function holesShown() { return (props.hole_models || []).includes(modelSelect.value); }
  function currentHoles() { return holesShown() ? holesInput.checked : undefined; }
  holesInput.addEventListener('change', () => { holesChoice[modelSelect.value] = holesInput.checked; update(); });
  function renderCoats() {
    const coats = modelCoats();
    const model = modelSelect.value;
    furInput.checked = model in furChoice ? furChoice[model] : (props.fur_defaults || []).includes(model);
    furBox.hidden = !furShown();
    holesInput.checked = model in holesChoice ? holesChoice[model] : true;
    holesBox.hidden = !holesShown();
    coatBox.hidden = !coats.length && furBox.hidden && holesBox.hidden;
    coatLabel.hidden = !coats.length; // a model with a switch but no colours: the switch alone
    coatList.replaceChildren();
    if (!coats.length) { coatName.textContent = ''; return; }
    if (!coats.some(([, , value]) => value === state.coat)) state.coat = coats[0][2]; // the first: the model's default
    for (const [name, hex, value] of coats) {
      const swatch = document.createElement('button');
      swatch.type = 'button'; swatch.className = 'p2p-coat'; swatch.dataset.coat = value;
      swatch.title = name; swatch.setAttribute('role', 'radio'); swatch.setAttribute('aria-label', name);
      swatch.setAttribute('aria-checked', String(value === state.coat));
      swatch.style.background = hex;
      swatch.addEventListener('click', () => { state.coat = value; renderCoats(); update(); });
      coatList.appendChild(swatch);
    }
    coatName.textContent = (coats.find(([, , value]) => value === state.coat) || [''])[0];
  }
  function currentCoat() { return modelCoats().length ? state.coat : ''; }
  renderCoats();
  modelSelect.addEventListener('change', () => { renderCoats(); update(); });
  seedInput.addEventListener('change', () => {
    const seed = Math.round(Number(seedInput.value));
    seedInput.value = Number.isFinite(seed) ? Math.min(MAX_SEED, Math.max(0, seed)) : 0;
    update();
  });
  button('variation').addEventListener('click', () => {
    seedInput.value = 1 + Math.floor(Math.random() * MAX_SEED);
    update();
  });
  button('download').addEventListener('click', download);
  // Ctrl+Z / Ctrl+Y (Cmd on a Mac) while the Draw tab is on screen, except in text fields
  function onKey(event) {
    if (!root.isConnected) { document.removeEventListener('keydown', onKey); return; }
    if (!(event.ctrlKey || event.metaKey) || root.offsetParent === null) return;
    if (event.target.closest && event.target.closest('input, select, textarea, [contenteditable=""], [contenteditable=true]')) return;
    const key = event.key.toLowerCase();
    if (key === 'z' && !event.shiftKey) { event.preventDefault(); undo(); }
    else if (key === 'y' || (key === 'z' && event.shiftKey)) { event.preventDefault(); redo(); }
  }
  document.addEventListener('keydown', onKey);

  // ------------------------------------------------------------------ drawing
  function point(event) {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height];
  }
  function paint(op, from) {
    ctx.save();
    if (op.kind === 'rect') {
      const [x0, y0, x1, y1] = op.box;
      ctx.fillStyle = op.colour;
      ctx.fillRect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
      ctx.restore();
      return;
    }
    ctx.lineCap = 'round'; ctx.lineJoin = 'round';
    ctx.strokeStyle = ctx.fillStyle = op.tool === 'eraser' ? PAPER : (op.colour || '#000000');
    ctx.lineWidth = op.size;
    const points = op.points;
    if (points.length === 1) {
      ctx.beginPath(); ctx.arc(points[0][0], points[0][1], op.size / 2, 0, 2 * Math.PI); ctx.fill();
    } else {
      ctx.beginPath();
      const start = Math.max(0, from - 1);
      ctx.moveTo(points[start][0], points[start][1]);
      for (let i = start + 1; i < points.length; i++) ctx.lineTo(points[i][0], points[i][1]);
      ctx.stroke();
    }
    ctx.restore();
  }
  function blank() { ctx.fillStyle = PAPER; ctx.fillRect(0, 0, canvas.width, canvas.height); }
  function replay() {
    blank();
    for (const op of state.history) {
      if (op.kind === 'clear') blank();
      else if (op.kind === 'load') {
        blank();
        ctx.imageSmoothingEnabled = !palette; // a label map keeps its class colours when scaled
        ctx.drawImage(op.image, 0, 0, canvas.width, canvas.height);
        ctx.imageSmoothingEnabled = true;
      }
      else paint(op, 0);
    }
  }
  canvas.addEventListener('pointerdown', (event) => {
    if (event.pointerType === 'mouse' && event.button !== 0) return;
    if (state.stroke) return; // a second finger while drawing
    event.preventDefault();
    try { canvas.setPointerCapture(event.pointerId); } catch (error) { /* a synthetic event: no capture */ }
    if (state.tool === 'rect') {
      const [x, y] = point(event);
      state.stroke = { kind: 'rect', colour: state.colour, box: [x, y, x, y], pointerId: event.pointerId, lastSent: performance.now() };
      return;
    }
    state.stroke = { kind: 'stroke', tool: state.tool, size: state.sizes[state.tool], colour: state.colour,
                     points: [point(event)], pointerId: event.pointerId, lastSent: performance.now() };
    paint(state.stroke, 0);
  });
  canvas.addEventListener('pointermove', (event) => {
    const stroke = state.stroke;
    if (!stroke || event.pointerId !== stroke.pointerId) return;
    if (stroke.kind === 'rect') { // the box follows the pointer: the drawing so far, then the box
      const [x, y] = point(event);
      stroke.box[2] = x; stroke.box[3] = y;
      replay(); paint(stroke, 0);
    } else {
      const from = stroke.points.length;
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      for (const e of (events.length ? events : [event])) stroke.points.push(point(e));
      paint(stroke, from);
    }
    // a picture during a long stroke too: at most one request in flight, one every PREVIEW_MS
    const now = performance.now();
    if (!state.inFlight && now - stroke.lastSent >= PREVIEW_MS) { stroke.lastSent = now; send(true); }
  });
  function endStroke(event) {
    const stroke = state.stroke;
    if (!stroke || event.pointerId !== stroke.pointerId) return;
    state.stroke = null;
    delete stroke.pointerId; delete stroke.lastSent;
    if (stroke.kind === 'rect' && (Math.abs(stroke.box[2] - stroke.box[0]) < 2 || Math.abs(stroke.box[3] - stroke.box[1]) < 2)) {
      replay(); return; // a click, not a box
    }
    commit(stroke);
  }
  canvas.addEventListener('pointerup', endStroke);
  canvas.addEventListener('pointercancel', endStroke);

  function commit(op) {
    op.id = state.nextId++;
    state.history.push(op);
    state.redo = [];
    replay(); // the canvas is always exactly its history: what undo / redo rebuild, pixel for pixel
    update();
  }
  function undo() {
    if (!state.history.length) return;
    state.redo.push(state.history.pop());
    replay(); update();
  }
  function redo() {
    if (!state.redo.length) return;
    state.history.push(state.redo.pop());
    replay(); update();
  }
  function loadDrawing(url, model) {
    const image = new Image();
    image.onload = () => {
      if (model && [...modelSelect.options].some((o) => o.value === model)) modelSelect.value = model;
      renderCoats();
      commit({ kind: 'load', image });
    };
    image.onerror = () => showStatus('Could not load that drawing.', true);
    image.src = url;
  }

  // ------------------------------------------------------------------ pictures
  function drawingKey() {
    // what the picture depends on: the visible ops since the last clear, the model and the seed
    let start = 0;
    state.history.forEach((op, i) => { if (op.kind === 'clear') start = i + 1; });
    const ops = state.history.slice(start);
    return ops.length ? ops.map((op) => op.id).join('.') + '|' + modelSelect.value + '|' + seedInput.value + '|' + currentCoat() + '|' + currentFur() + '|' + currentHoles() : null;
  }
  function showStatus(text, isError) {
    status.textContent = text || '';
    status.classList.toggle('p2p-error', !!isError);
  }
  function showEmpty(message) {
    picture.hidden = true; picture.removeAttribute('src');
    hint.textContent = message || EMPTY_HINT; hint.hidden = false;
    state.shownKey = null;
  }
  function show(result, key) {
    picture.src = result.image;
    picture.hidden = false; hint.hidden = true;
    state.shownKey = key;
    root.dataset.pictures = String(Number(root.dataset.pictures) + 1);
  }
  function update() {
    button('undo').disabled = !state.history.length;
    button('redo').disabled = !state.redo.length;
    state.version += 1;
    const key = drawingKey();
    if (key === null) { showEmpty(); showStatus(''); return; }
    const cached = state.cache.get(key);
    if (cached) { show(cached, key); showStatus(''); return; }
    if (state.inFlight && !FAIR) { state.pending = true; return; }
    send();
  }
  function sketchPng() {
    const small = document.createElement('canvas');
    small.width = small.height = SEND_SIZE;
    const smallCtx = small.getContext('2d');
    // labels: nearest-neighbour, so every pixel sent is a class colour; lines: smooth
    smallCtx.imageSmoothingEnabled = !palette; smallCtx.imageSmoothingQuality = 'high';
    smallCtx.drawImage(canvas, 0, 0, SEND_SIZE, SEND_SIZE);
    return small.toDataURL('image/png');
  }
  // preview: a picture of the stroke still being drawn (not cached; shown only while that stroke
  // goes on, dropped once it has ended: the finished stroke gets its own request)
  async function send(preview) {
    const version = state.version, key = preview ? null : drawingKey(), stroke = state.stroke;
    const request = { png: sketchPng(), model: modelSelect.value, seed: Number(seedInput.value) || 0, coat: currentCoat(), fur: currentFur(), holes: currentHoles(), page: PAGE, seq: ++state.seq };
    const bytes = JSON.stringify(request).length;
    const started = performance.now();
    state.inFlight += 1; root.dataset.busy = '1';
    const slow = setTimeout(() => showStatus('Working… (the first picture also loads the model)'), 400);
    let result;
    try { result = await server.render(request); } catch (error) { result = undefined; }
    clearTimeout(slow);
    state.inFlight -= 1; root.dataset.busy = state.inFlight ? '1' : '0';
    const stale = version !== state.version || (preview && state.stroke !== stroke) || !!(result && result.superseded);
    state.stats.push({ version, bytes, ms: performance.now() - started, serverMs: result && result.ms,
                       batch: result && result.batch, dropped: stale, preview: !!preview });
    if (state.stats.length > 500) state.stats.shift();
    if (result && result.image && !preview) {
      state.cache.set(key, result);
      if (state.cache.size > 64) state.cache.delete(state.cache.keys().next().value);
    }
    if (preview) {
      if (!stale && result && result.image) { show(result, null); showStatus(''); }
    } else if (!stale) {
      if (!result) showStatus('The server did not answer; draw again to retry.', true);
      else if (result.error) showStatus(result.error, true);
      else if (result.empty) { showEmpty(result.empty); showStatus(''); }
      else { show(result, key); showStatus(Math.round(performance.now() - started) + ' ms'); }
    }
    if (state.pending || (stale && !FAIR)) { state.pending = false; update(); }
  }
  async function download() {
    if (drawingKey() === null) { showStatus('Nothing to download yet: draw something first.', true); return; }
    const size = Number(downloadSize.value);
    const request = { png: sketchPng(), model: modelSelect.value, seed: Number(seedInput.value) || 0, coat: currentCoat(), fur: currentFur(), holes: currentHoles(), size };
    showStatus(size > 512 ? 'Enhancing ×4 (a few seconds)…' : 'Preparing the PNG…');
    let result;
    try { result = await server.render_png(request); } catch (error) { result = undefined; }
    if (!result || !result.image) { showStatus(result ? (result.error || result.empty) : 'The server did not answer.', true); return; }
    showStatus('');
    const link = document.createElement('a');
    link.href = result.image;
    link.download = (props.download_prefix || 'pix2pix') + '-' + request.model + (request.coat ? '-' + request.coat.replace('#', '') : '') + (request.seed ? '-v' + request.seed : '') + '-' + result.width + 'x' + result.height + '.png';
    document.body.appendChild(link); link.click(); link.remove();
  }

  // ------------------------------------------------------------------ from Python ("Edit the edges in Draw")
  let lastNonce = null;
  function fromPython() {
    const value = props.value;
    if (value && typeof value === 'object' && value.load && value.nonce !== lastNonce) {
      lastNonce = value.nonce;
      if (typeof value.coat === 'string' && /^#[0-9a-f]{6}$/i.test(value.coat) && value.model) {
        photoCoat = { model: value.model, hex: value.coat.toLowerCase() };
        state.coat = photoCoat.hex;
      }
      loadDrawing(value.load, value.model);
    }
  }
  watch('value', fromPython);

  blank();
  setTool('pen');
  showEmpty();
  fromPython();
  root.dataset.ready = '1';
  root.__p2p = { state, undo, redo, loadDrawing }; // for tests and the browser benchmark
})();
