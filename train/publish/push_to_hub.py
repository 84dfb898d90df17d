"""Publish a model folder to the Hugging Face Hub.

    python -m train.publish.push_to_hub weights/NAME --repo-id OWNER/NAME [--private] [--revision BRANCH]
                                [--commit-message MSG] [--sample-image PNG] [--dry-run DIR]

Uploads exactly config.json, model.safetensors and README.md (the model card, regenerated from
config.json with the repo id in its usage snippet), plus a sample image when one is given with
--sample-image or linked from the folder's current card. --dry-run DIR writes that exact folder to
DIR and uploads nothing. Needs a token (`hf auth login` or HF_TOKEN) unless --dry-run.
Afterwards: `load_model("OWNER/NAME")`, or list it in `pix2pix_demo.registry.HUB_MODELS`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
from pathlib import Path

from pix2pix_demo import hub
from pix2pix_demo.cards import extra_markdown_of, write_model_card

UPLOAD_FILES = (hub.CONFIG_NAME, hub.WEIGHTS_NAME)  # + README.md (written) + an optional sample image
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif"}


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", help="model folder with config.json + model.safetensors, e.g. weights/edges2cats")
    p.add_argument("--repo-id", required=True, help="OWNER/NAME on the Hub")
    p.add_argument("--private", action="store_true", help="create the repo private (only when it does not exist yet)")
    p.add_argument("--revision", default=None, help="branch to push to (created if missing); default main")
    p.add_argument("--commit-message", default=None)
    p.add_argument("--sample-image", default=None, help="an image to show in the card (uploaded next to it)")
    p.add_argument("--dry-run", metavar="DIR", default=None, help="write the upload folder to DIR, upload nothing")
    return p


def validate_folder(folder: Path) -> None:
    """SystemExit with a clear message unless `folder` holds a loadable model."""
    if not folder.is_dir():
        raise SystemExit(f"{folder} is not a folder. Pass a model folder such as weights/edges2cats.")
    try:
        hub.load_local(folder)  # the only proof that config.json and the weights belong together
    except hub.ModelLoadError as error:
        raise SystemExit(f"{folder} is not a valid model folder: {error}") from None


def find_sample(folder: Path, sample_image: str | None) -> Path | None:
    """--sample-image, else a local image the folder's current card links to."""
    if sample_image:
        path = Path(sample_image)
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            raise SystemExit(f"--sample-image {path} is not an image file ({', '.join(sorted(IMAGE_SUFFIXES))}).")
        return path
    card = folder / hub.CARD_NAME
    links = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", card.read_text(encoding="utf-8")) if card.is_file() else []
    for link in links:
        path = folder / link
        if "://" not in link and path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES:
            return path
    return None


def stage(folder: Path, target: Path, repo_id: str, sample: Path | None) -> list[str]:
    """Write the upload folder into `target` (empty or new); return its file names."""
    if target.exists() and any(target.iterdir()):
        raise SystemExit(f"{target} is not empty; pick a new folder for the upload.")
    target.mkdir(parents=True, exist_ok=True)
    for name in UPLOAD_FILES:
        shutil.copy2(folder / name, target / name)
    sample_name = None
    if sample:
        sample_name = "sample" + sample.suffix.lower()
        shutil.copy2(sample, target / sample_name)
    old_card = folder / hub.CARD_NAME
    extra = extra_markdown_of(old_card.read_text(encoding="utf-8")) if old_card.is_file() else ""
    write_model_card(target, repo_id=repo_id, sample_image=sample_name, extra_markdown=extra)
    return sorted(path.name for path in target.iterdir())


def check_can_upload() -> None:
    """SystemExit before any work when an upload cannot succeed (offline, no token)."""
    from huggingface_hub import constants, get_token

    if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise SystemExit("HF_HUB_OFFLINE is set: unset it to upload, or use --dry-run DIR.")
    if not get_token():
        raise SystemExit("No Hugging Face token: run `hf auth login` or set HF_TOKEN (a token with write access).")


def upload(staged: Path, args) -> str:
    """create_repo (exist_ok) + branch + upload_folder; SystemExit with the Hub's reason on failure."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi()
    try:
        api.create_repo(args.repo_id, private=args.private, exist_ok=True, repo_type="model")
        if args.revision:
            api.create_branch(args.repo_id, branch=args.revision, exist_ok=True)
        commit = api.upload_folder(folder_path=staged, repo_id=args.repo_id, revision=args.revision,
                                   commit_message=args.commit_message or f"Upload {Path(args.folder).name}")
    except (HfHubHTTPError, OSError) as error:
        raise SystemExit(f"Upload to {args.repo_id} failed: {str(error).splitlines()[0]}") from None
    return commit.commit_url


def photo_note(folder: Path) -> None:
    """Say so when the model holds its training photo (a SinGAN saved with keeps_photo): it goes up with it."""
    try:
        architecture = hub.read_config(folder).get("architecture", {})
    except (hub.ModelLoadError, OSError, ValueError):
        return
    if isinstance(architecture, dict) and architecture.get("keeps_photo") is True:
        height, width = architecture["shapes"][-1]
        print(f"Note: this model holds its training photo ({width}x{height} px, for the finish from the photo): "
              "whoever can download the model gets the photo. Use --private, or retrain with --no-photo "
              "to leave it out.")


def main(argv=None) -> Path | None:
    args = get_args_parser().parse_args(argv)
    folder = Path(args.folder)
    if not hub.REPO_ID_PATTERN.match(args.repo_id):
        raise SystemExit(f"--repo-id {args.repo_id!r} is not 'owner/name'.")
    validate_folder(folder)
    photo_note(folder)
    sample = find_sample(folder, args.sample_image)
    if args.dry_run:
        target = Path(args.dry_run)
        names = stage(folder, target, args.repo_id, sample)
        print(f"Dry run: {target} holds what would be uploaded to {args.repo_id}: {', '.join(names)}")
        return target
    check_can_upload()
    with tempfile.TemporaryDirectory(prefix="push_to_hub_") as tmp:
        names = stage(folder, Path(tmp) / "upload", args.repo_id, sample)
        print(f"Uploading {', '.join(names)} to {args.repo_id}" + (f"@{args.revision}" if args.revision else ""))
        print(f"Done: {upload(Path(tmp) / 'upload', args)}")
    print(f"Load it with: load_model(\"{args.repo_id}\")" + (f" (revision=\"{args.revision}\")" if args.revision else ""))
    return None


if __name__ == "__main__":
    main()
