"""Assets of the desktop app: icons, style sheet and sample folder.

Code finds them through ``importlib.resources.files("resources")``, never by file paths.
"""
