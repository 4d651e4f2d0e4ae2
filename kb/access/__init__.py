"""Who may see and change what, and the files people bring in.

- `users`: users, roles per municipality, the users file and sign-in;
- `view`: `UserView`, the store as one user may see and change it (every read scoped, every write checked);
- `uploads`: checking and keeping uploaded files, and each document's original;
- `chroma_gate`: the token gate in front of a shared Chroma server (`python -m kb.access.chroma_gate`).
"""

from kb.access.users import LOCAL_ADMIN, ROLES, SIGN_IN_FAILED, User, UserDirectory
from kb.access.view import UserView

__all__ = ["LOCAL_ADMIN", "ROLES", "SIGN_IN_FAILED", "User", "UserDirectory", "UserView"]
