"""ITA evidence: the assessment items intake serves, their codes per fiscal year, and the page (/ita)."""
