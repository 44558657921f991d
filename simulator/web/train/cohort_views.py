"""Cohorts and their people: create, add and import trainees, share, archive, the audit log."""
