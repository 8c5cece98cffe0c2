"""Platform adapters: Slack, Discord and the console. Transport only; the engine is in bot/."""
