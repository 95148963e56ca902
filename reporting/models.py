"""The quarter's rollup, disbursements and payments (built in the quarter issue)."""
