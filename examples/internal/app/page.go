package app

// Page is the small HTML client served at "/": a login form, a "signed in as" view, a
// button that calls the CSRF-protected /api/echo and a logout button. The CSRF token from
// the login answer is kept in sessionStorage so that it survives a reload in the tab.
const Page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>authframe example</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; }
form, section { display: grid; gap: .6rem; }
input, button { font: inherit; padding: .4rem .6rem; }
#status { min-height: 1.5rem; color: #555; }
.hidden { display: none; }
</style>
</head>
<body>
<h1>authframe</h1>
<form id="login">
  <label>Username <input id="username" name="username" autocomplete="username" required></label>
  <label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label>
  <button id="login-button" type="submit">Sign in</button>
</form>
<section id="app" class="hidden">
  <p>Signed in as <strong id="whoami"></strong> (<span id="method"></span>)</p>
  <button id="echo-button" type="button">Call protected action</button>
  <pre id="echo-result"></pre>
  <button id="logout-button" type="button">Sign out</button>
</section>
<p id="status"></p>
<script>
const $ = (id) => document.getElementById(id);
const status = (msg) => { $("status").textContent = msg; };
async function refresh() {
  const r = await fetch("/api/me", { credentials: "same-origin" });
  if (r.ok) {
    const me = await r.json();
    $("whoami").textContent = me.username;
    $("method").textContent = me.auth_method;
    $("login").classList.add("hidden");
    $("app").classList.remove("hidden");
  } else {
    $("app").classList.add("hidden");
    $("login").classList.remove("hidden");
  }
}
$("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const r = await fetch("/session/login", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: $("username").value, password: $("password").value }),
  });
  if (!r.ok) {
    const err = await r.json().catch(() => ({}));
    status("Sign-in failed: " + ((err.error && err.error.message) || r.status));
    return;
  }
  const body = await r.json();
  sessionStorage.setItem("csrf_token", body.csrf_token);
  $("password").value = "";
  status("Signed in.");
  await refresh();
});
$("echo-button").addEventListener("click", async () => {
  const r = await fetch("/api/echo", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": sessionStorage.getItem("csrf_token") || "" },
    body: JSON.stringify({ hello: "world", at: new Date().toISOString() }),
  });
  $("echo-result").textContent = r.status + " " + await r.text();
  status(r.ok ? "Protected action succeeded." : "Protected action failed.");
});
$("logout-button").addEventListener("click", async () => {
  await fetch("/session/logout", {
    method: "POST", credentials: "same-origin",
    headers: { "X-CSRF-Token": sessionStorage.getItem("csrf_token") || "" },
  });
  sessionStorage.removeItem("csrf_token");
  $("echo-result").textContent = "";
  status("Signed out.");
  await refresh();
});
refresh();
</script>
</body>
</html>
`
