"""The results stage: what a run reports on, risk figures over draws, writing results."""
