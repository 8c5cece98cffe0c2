"""The editor stage between ranking and composition (see ``bot.briefing.editor.base``)."""
