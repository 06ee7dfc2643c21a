/**
 * The `/docs` page: a self-contained HTML page (no outside script, style or font) that fetches
 * `/openapi.json` and renders its operations, schemas and a "try it" form. Everything it shows
 * is set with `textContent`, never parsed as HTML, so nothing in the document can inject markup.
 */

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:16px 24px}header h1{margin:0;font-size:22px}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
.intro p{margin:6px 0}.auth{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0}
.auth label{flex:1;min-width:260px}input,textarea,select{font:13px ui-monospace,monospace;width:100%;box-sizing:border-box;padding:5px}
textarea{min-height:90px}h2{margin:22px 0 8px;text-transform:capitalize}
details.op{background:#fff;border:1px solid #d8dce3;border-radius:6px;margin:6px 0}
details.op>summary{cursor:pointer;padding:8px 12px;display:flex;gap:10px;align-items:baseline}
.op .body{padding:4px 14px 14px}.m{font:bold 12px ui-monospace,monospace;min-width:56px;text-transform:uppercase}
.get{color:#0b7a3e}.post{color:#0b5cad}.put,.patch{color:#8a5a00}.delete{color:#b3261e}
code,.path,pre{font-family:ui-monospace,monospace}.path{font-weight:600}.muted{color:#5b6372}
table{border-collapse:collapse;width:100%;margin:6px 0}td,th{border:1px solid #e1e4ea;padding:4px 6px;text-align:left;vertical-align:top;font-size:13px}
pre{background:#f0f2f5;padding:8px;overflow:auto;white-space:pre-wrap;word-break:break-word;font-size:12px;margin:4px 0}
button{padding:6px 14px;margin-top:8px;cursor:pointer}.status{font-weight:bold}
#filter{max-width:360px;margin:8px 0}
`;

const SCRIPT = `
"use strict";
var doc = null;
var tokens = { operatorToken: "", accountKey: "" };
var METHODS = ["get", "post", "put", "patch", "delete", "head", "options", "trace"];

function el(tag, attrs, children) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) {
    if (k === "text") node.textContent = attrs[k];
    else if (k === "cls") node.className = attrs[k];
    else node.setAttribute(k, attrs[k]);
  });
  (children || []).forEach(function (c) {
    if (c !== null && c !== undefined) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  });
  return node;
}

/** A little of Markdown, as text: \`code\` and **bold**; nothing is parsed as HTML. */
function prose(text) {
  var box = el("div", { cls: "intro" });
  String(text || "").split(/\\n\\n+/).forEach(function (para) {
    var p = el("p");
    para.split(/(\`[^\`]*\`|\\*\\*[^*]+\\*\\*)/).forEach(function (part) {
      if (/^\`.*\`$/.test(part)) p.appendChild(el("code", { text: part.slice(1, -1) }));
      else if (/^\\*\\*.*\\*\\*$/.test(part)) p.appendChild(el("strong", { text: part.slice(2, -2) }));
      else if (part) p.appendChild(document.createTextNode(part));
    });
    box.appendChild(p);
  });
  return box;
}

function resolve(ref) {
  var node = doc;
  ref.replace(/^#\\//, "").split("/").forEach(function (k) { node = node ? node[k.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined; });
  return node;
}
function deref(x) { return x && x.$ref ? resolve(x.$ref) || {} : x || {}; }
function refName(ref) { return ref.split("/").pop(); }

/** A schema as a short type expression. */
function typeText(s, depth) {
  if (!s) return "any";
  if (s.$ref) return refName(s.$ref);
  if (depth > 4) return "…";
  var alts = s.anyOf || s.oneOf;
  if (alts) return alts.map(function (a) { return typeText(a, depth + 1); }).join(" | ");
  if (s.enum) return s.enum.map(function (v) { return JSON.stringify(v); }).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  var t = Array.isArray(s.type) ? s.type.join(" | ") : s.type;
  if (t === "array") return typeText(s.items, depth + 1) + "[]";
  if (t === "object" || s.properties) {
    var req = s.required || [];
    var props = Object.keys(s.properties || {}).map(function (k) {
      return k + (req.indexOf(k) >= 0 ? "" : "?") + ": " + typeText(s.properties[k], depth + 1);
    });
    if (s.additionalProperties && typeof s.additionalProperties === "object") props.push("[key]: " + typeText(s.additionalProperties, depth + 1));
    return "{ " + props.join("; ") + " }";
  }
  return t || "any";
}

/** A schema shown with its referenced components expanded one level. */
function schemaBlock(s) {
  var lines = [typeText(s, 0)];
  var seen = {};
  (JSON.stringify(s || {}).match(/#\\/components\\/schemas\\/[^"]+/g) || []).forEach(function (ref) {
    if (seen[ref]) return;
    seen[ref] = true;
    lines.push(refName(ref) + " = " + typeText(deref({ $ref: ref }), 0));
  });
  return el("pre", { text: lines.join("\\n") });
}

/** An example value of a schema, for the request body box. */
function example(s, depth) {
  s = deref(s);
  if (depth > 5) return null;
  if (s.example !== undefined) return s.example;
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  if (s.const !== undefined) return s.const;
  if (s.anyOf || s.oneOf) return example((s.anyOf || s.oneOf)[0], depth + 1);
  var t = Array.isArray(s.type) ? s.type[0] : s.type;
  if (t === "object" || s.properties) {
    var out = {};
    (s.required || []).forEach(function (k) { out[k] = example(s.properties[k], depth + 1); });
    return out;
  }
  if (t === "array") return [example(s.items, depth + 1)];
  if (t === "integer" || t === "number") return s.minimum !== undefined ? s.minimum : 1;
  if (t === "boolean") return false;
  if (t === "null") return null;
  return s.format === "date-time" ? new Date().toISOString() : "string";
}

function paramTable(params) {
  if (!params.length) return null;
  var rows = params.map(function (p) {
    p = deref(p);
    return el("tr", {}, [el("td", {}, [el("code", { text: p.name })]), el("td", { text: p.in + (p.required ? ", required" : "") }),
      el("td", { text: typeText(p.schema, 0) }), el("td", { text: p.description || (p.schema && p.schema.description) || "" })]);
  });
  return el("table", {}, [el("tr", {}, ["name", "in", "type", "description"].map(function (h) { return el("th", { text: h }); }))].concat(rows));
}

function responsesBlock(responses) {
  var rows = Object.keys(responses || {}).map(function (status) {
    var r = deref(responses[status]);
    var media = Object.keys(r.content || {});
    var headers = Object.keys(r.headers || {});
    return el("tr", {}, [el("td", { cls: "status", text: status }), el("td", {}, [prose(r.description),
      headers.length ? el("div", { cls: "muted", text: "Headers: " + headers.join(", ") }) : null,
      media.length ? el("div", {}, [el("code", { text: media.join(", ") }), schemaBlock(r.content[media[0]].schema)]) : null])]);
  });
  return el("table", {}, [el("tr", {}, [el("th", { text: "status" }), el("th", { text: "response" })])].concat(rows));
}

function tryIt(method, path, op) {
  var params = (op.parameters || []).map(deref);
  var inputs = params.map(function (p) {
    var input = el("input", { placeholder: typeText(p.schema, 0) });
    return { p: p, input: input, row: el("label", {}, [el("code", { text: p.in + " " + p.name }), input]) };
  });
  var schemes = (op.security || []).map(function (s) { return Object.keys(s)[0]; }).filter(Boolean);
  var media = op.requestBody && deref(op.requestBody).content;
  var bodyBox = null;
  if (media && media["application/json"]) {
    bodyBox = el("textarea");
    bodyBox.value = JSON.stringify(example(media["application/json"].schema, 0), null, 2);
  }
  var out = el("div");
  var send = el("button", { type: "button", text: "Send " + method.toUpperCase() });
  send.addEventListener("click", function () {
    var url = path;
    var query = new URLSearchParams();
    var headers = {};
    inputs.forEach(function (i) {
      var v = i.input.value;
      if (i.p.in === "path") url = url.replace("{" + i.p.name + "}", encodeURIComponent(v));
      else if (v !== "" && i.p.in === "query") query.append(i.p.name, v);
      else if (v !== "" && i.p.in === "header") headers[i.p.name] = v;
    });
    if (query.toString()) url += "?" + query.toString();
    var token = schemes.length ? tokens[schemes[0]] : "";
    if (token) headers.Authorization = "Bearer " + token;
    var init = { method: method.toUpperCase(), headers: headers };
    if (bodyBox) { headers["Content-Type"] = "application/json"; init.body = bodyBox.value; }
    out.replaceChildren(el("p", { cls: "muted", text: init.method + " " + url + " …" }));
    fetch(url, init).then(function (res) {
      return res.text().then(function (text) {
        var head = [];
        res.headers.forEach(function (v, k) { head.push(k + ": " + v); });
        try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON: as is */ }
        out.replaceChildren(el("p", { cls: "status", text: res.status + " " + res.statusText }), el("pre", { text: head.join("\\n") }), el("pre", { text: text }));
      });
    }).catch(function (e) { out.replaceChildren(el("p", { text: "Failed: " + e })); });
  });
  return el("div", {}, [el("h4", { text: "Try it" }), schemes.length ? el("p", { cls: "muted", text: "Sends the " + schemes[0] + " entered above." }) : null]
    .concat(inputs.map(function (i) { return i.row; })).concat([bodyBox, send, out]));
}

function operation(method, path, op) {
  var params = (op.parameters || []);
  var security = (op.security || []).map(function (s) { return Object.keys(s).join(" + "); }).join(" or ") || "none (public)";
  var body = op.requestBody ? deref(op.requestBody) : null;
  var bodyMedia = body && Object.keys(body.content || {})[0];
  var details = el("details", { cls: "op", "data-search": (method + " " + path + " " + (op.summary || "")).toLowerCase() }, [
    el("summary", {}, [el("span", { cls: "m " + method, text: method }), el("span", { cls: "path", text: path }), el("span", { cls: "muted", text: op.summary || "" })]),
    el("div", { cls: "body" }, [
      op.description ? prose(op.description) : null,
      el("p", {}, [el("strong", { text: "Auth: " }), security, el("span", { cls: "muted", text: op.operationId ? "  · operationId " + op.operationId : "" })]),
      paramTable(params),
      bodyMedia ? el("div", {}, [el("strong", { text: "Body " }), el("code", { text: bodyMedia }), schemaBlock(body.content[bodyMedia].schema)]) : null,
      responsesBlock(op.responses),
      tryIt(method, path, op),
    ]),
  ]);
  return { tag: (op.tags || ["other"])[0], node: details };
}

function render() {
  var root = document.getElementById("app");
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  var auth = el("div", { cls: "auth" });
  Object.keys((doc.components || {}).securitySchemes || {}).forEach(function (name) {
    var scheme = doc.components.securitySchemes[name];
    // Only the bearer tokens "try it" sends; the webhook signature is the gateway's to make.
    if (scheme.type !== "http") return;
    var input = el("input", { type: "password", autocomplete: "off", placeholder: scheme.bearerFormat || "token" });
    input.addEventListener("input", function () { tokens[name] = input.value; });
    auth.appendChild(el("label", {}, [el("code", { text: name }), " ", el("span", { cls: "muted", text: scheme.description || "" }), input]));
  });
  var groups = {};
  Object.keys(doc.paths || {}).sort().forEach(function (path) {
    METHODS.forEach(function (m) {
      var op = doc.paths[path][m];
      if (!op) return;
      var o = operation(m, path, op);
      (groups[o.tag] = groups[o.tag] || []).push(o.node);
    });
  });
  var filter = el("input", { id: "filter", placeholder: "Filter operations" });
  var sections = Object.keys(groups).sort().map(function (tag) { return el("section", {}, [el("h2", { text: tag })].concat(groups[tag])); });
  filter.addEventListener("input", function () {
    var q = filter.value.toLowerCase();
    document.querySelectorAll("details.op").forEach(function (d) { d.hidden = q !== "" && d.getAttribute("data-search").indexOf(q) < 0; });
  });
  var schemas = (doc.components || {}).schemas || {};
  var schemaList = Object.keys(schemas).sort().map(function (name) {
    return el("details", { cls: "op", id: "schema-" + name }, [el("summary", {}, [el("span", { cls: "path", text: name })]), el("div", { cls: "body" }, [schemaBlock(schemas[name])])]);
  });
  root.replaceChildren(prose(doc.info.description), el("p", { cls: "muted" }, ["OpenAPI " + doc.openapi + " · ", el("a", { href: "/openapi.json", text: "/openapi.json" })]),
    auth, filter, el("div", {}, sections), el("section", {}, [el("h2", { text: "schemas" })].concat(schemaList)));
}

fetch("/openapi.json").then(function (res) {
  if (!res.ok) throw new Error("HTTP " + res.status);
  return res.json();
}).then(function (d) { doc = d; render(); }).catch(function (e) {
  document.getElementById("app").replaceChildren(el("p", { text: "Could not load /openapi.json: " + e }));
});
`;

/** The page; `nonce` (hex) authorises its one inline script and style under the page's CSP. */
export function docsPage(nonce: string): string {
  if (!/^[0-9a-f]{16,64}$/.test(nonce)) throw new Error("the nonce must be hex");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>creditgate API</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header><h1 id="title">creditgate API</h1></header>
<main id="app"><p>Loading <a href="/openapi.json">/openapi.json</a>…</p></main>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}
