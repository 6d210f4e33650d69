"""Surveys (NPS, CSAT, effort), their answers, and what engage does about them."""
