"""``python -m voc_api serve|keys …`` (the same commands the lead mounts into ``voc``)."""

from voc_api.cli import app

if __name__ == "__main__":
    app()
