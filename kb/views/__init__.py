"""What the app shows, computed without Streamlit: plain data in, plain data out, so it is unit-tested.

- `display`: highlighting, the source view, onboarding and the status line;
- `themes`: the facilitator's view of one theme and its one-page brief;
- `feedback`: the feedback log (thumbs on answers, questions the knowledge base could not answer).
"""

from kb.views import display, feedback, themes

__all__ = ["display", "feedback", "themes"]
