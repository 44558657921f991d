"""Analytics: where a cohort goes wrong, decision by decision."""
