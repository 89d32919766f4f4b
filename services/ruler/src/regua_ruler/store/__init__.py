"""Queries of the ruler schema, by concern: rulers, cases and steps, debtor facts, the simulated clock."""
