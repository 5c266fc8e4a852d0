/** The admin login form shown off loopback (sets an HttpOnly cookie on success). */
export const loginPage = (failed: boolean) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Troupe · sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px system-ui,sans-serif;display:grid;place-items:center;min-height:100vh;margin:0;background:#f6f6f4}
form{background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002;display:grid;gap:.75rem;min-width:18rem}
input,button{font:inherit;padding:.5rem}.error{color:#b00020}</style></head>
<body><form method="post" action="/login"><strong>Troupe dashboard</strong>
<label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
${failed ? '<span class="error">Wrong token.</span>' : ""}<button type="submit">Sign in</button></form></body></html>
`
