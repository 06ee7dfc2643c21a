/**
 * The dashboard's HTML shell. Everything it shows is drawn by /dashboard/app.js from the usage,
 * balance and alert APIs; the page itself carries no data and no key.
 */
export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>creditgate dashboard</title>
<link rel="stylesheet" href="/dashboard/app.css">
<script defer src="/dashboard/app.js"></script>
</head>
<body>
<main id="app"><p>Loading the dashboard…</p></main>
<noscript>The dashboard needs JavaScript.</noscript>
</body>
</html>`;
}
