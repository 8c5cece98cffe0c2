"""From stored items to a neutral Briefing: classify, cluster, rank, compose, render as text."""
