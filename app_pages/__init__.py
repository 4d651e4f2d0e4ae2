"""The app's pages, one file each, run by app.py through st.navigation; `shared` holds what several use.

The page files are Streamlit scripts (`st.Page("app_pages/search.py")`): Streamlit runs them, so they read
what app.py loaded for them from `shared.context()` instead of taking arguments.
"""
