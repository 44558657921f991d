"""Setting scenarios for a cohort: assign, change dates, withdraw."""
