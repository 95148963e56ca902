"""Each role's dashboard, the anomalies, the budgets and the November review.

Thin, like the other views: a selector of ``reporting.dashboards`` / ``anomalies`` /
``review`` (or the service ``quarters.budgets.budgets_set``) computes the figures in SQL
or saves them; these modules only lay them out as *panels* — a chart (Chart.js, served
from static/vendor) with its numbers in a table beside it — and check who may look:

- prefecture dashboard and anomalies: the reviewer and the auditor;
- a unit's dashboard: its own clerks; the reviewer, auditor and finance for any unit
  (a clerk asking for another unit gets a 404, as for a missing one);
- finance dashboard: finance, the reviewer and the auditor;
- budgets: finance only (who enters them);
- the November review: the reviewer, auditor and finance; a clerk sees their own
  unit's page.

``frame`` holds who may look, the year asked for and the tabs; ``panels`` the charts
and tables; ``roles`` the role dashboards and the anomalies; ``budgets_page`` the
budget grid; ``review_pages`` the November review. The URLs are in
``reporting.dashboard_urls``.
"""
