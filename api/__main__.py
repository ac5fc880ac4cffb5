"""``python -m api serve|keys …`` (the same commands the lead mounts into ``voc``)."""

from api.cli import app

if __name__ == "__main__":
    app()
