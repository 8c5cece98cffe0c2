"""The /brief command: its grammar, parsing, and the dispatcher that answers it."""
