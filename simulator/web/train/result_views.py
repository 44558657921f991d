"""Results: per assignment, per trainee, and a trainee's debrief read-only."""
