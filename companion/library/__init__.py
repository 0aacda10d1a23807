"""The script library on disk: loading and checking script files."""
