"""How long each kind of input may be: read by the input models (`forum.schemas`), the services'
domain checks, and the templates' `maxlength` (as `limits.*`), so a limit is said once.

A limit here is a size, not a rule: whether a title may be blank, or a caucus must keep a
convener, stays with the service that owns it.
"""

from __future__ import annotations

from forum.models.threads import MAX_DEPTH, PATH_SEGMENT

# Ids are 32-bit positive integers in every table.
MAX_ID = 2**31 - 1
# A page cursor is a materialised post path: PATH_SEGMENT base-36 digits a level.
MAX_CURSOR = PATH_SEGMENT * (MAX_DEPTH + 1)
MAX_PAGE = 10_000
MAX_IDS = 200  # ids in one "mark read" request

# Members.
MIN_HANDLE = 2
MAX_HANDLE = 32
MAX_HANDLE_INPUT = MAX_HANDLE + 1  # where "@handle" may be typed
MAX_DISPLAY_NAME = 80
MAX_PRONOUNS = 40
MAX_BIO = 1_000  # a profile's few words about oneself (plain text)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
MAX_INVITE_NOTE = 200
MAX_INVITE_TOKEN = 100  # an invite link's secret (43 characters as made)
MAX_EMAIL = 254  # RFC 5321: the longest address a mail server takes
MAX_NEXT = 500  # where to go after signing in: a path on this site

# Threads and posts.
MAX_TITLE = 200
MAX_BODY = 50_000
MAX_KEY = 64  # a client-made idempotency key
MAX_QUERY = 200  # search words

# Channels and caucuses.
MAX_SLUG = 80
MAX_NAME = 80
MAX_DESCRIPTION = 2_000
MAX_JOIN_NOTE = 500

# Moderation: every act's reason, a flag's note, an appeal's note.
MAX_REASON = 2_000
MAX_NOTE = 2_000
MAX_CHOICE = 32  # a word from a fixed list (flag reason, action, resolution)
MAX_SLOW_MODE = 24 * 3600

# Statements.
MAX_STATEMENT_TITLE = 300
MAX_STATEMENT_BODY = 200_000
MAX_AUTHOR = 120
MAX_URL = 1_000
MAX_EXTERNAL_ID = 300
MAX_CAPTION = 300

# A form field as read off the wire (the request-size limit caps the whole body).
MAX_FIELD = 200_000

# API tokens: a name to tell them apart, and at most ten years of life.
MAX_TOKEN_NAME = 80
MAX_TOKEN_DAYS = 3650

# Confidential reports
MAX_REPORT = 20_000  # what happened, a message, a reason
MAX_RESPONDENTS = 10
MAX_RESPONDENTS_INPUT = (MAX_HANDLE_INPUT + 2) * MAX_RESPONDENTS
