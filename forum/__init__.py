"""forum: a member discussion service; statements seed threads, caucuses govern themselves."""

__version__ = "0.1.0"
