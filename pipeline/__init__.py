"""Audio overviews: episode scripts in, finished MP3s out."""

__version__ = "0.1.0"
