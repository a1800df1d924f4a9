// The kit session viewer: one self-contained page, no network. The session is embedded as JSON in
// <script type="application/json" id="kit-session">; everything here builds DOM nodes with
// textContent and never parses message content as HTML, so nothing a message says can run.
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("kit-session").textContent);
  var entries = data.entries;
  var byId = new Map();
  var parentOf = new Map();
  entries.forEach(function (entry, i) {
    byId.set(entry.id, entry);
    parentOf.set(entry.id, data.parents[i]);
  });
  var labels = data.labels || {};
  var selected = null;

  // --- small DOM helpers ----------------------------------------------------------------------------

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function add(parent, child) {
    parent.appendChild(child);
    return child;
  }

  function details(cls, summaryText, open) {
    var box = el("details", cls);
    add(box, el("summary", null, summaryText));
    if (open) box.open = true;
    return box;
  }

  function number(n) {
    return Number(n || 0).toLocaleString("en-US");
  }

  function cost(usd) {
    if (usd === null || usd === undefined) return "n/a";
    return usd < 1 ? "$" + usd.toFixed(4) : "$" + usd.toFixed(2);
  }

  function lineCount(text) {
    if (!text) return 0;
    return text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  }

  // --- entries ----------------------------------------------------------------------------------------

  function partsOf(entry) {
    return Array.isArray(entry.parts)
      ? entry.parts.filter(function (p) { return p && typeof p === "object" && p.data && typeof p.data === "object"; })
      : [];
  }

  function textOf(entry) {
    return partsOf(entry)
      .filter(function (p) { return p.type === "text" && typeof p.data.text === "string"; })
      .map(function (p) { return p.data.text; })
      .join("\n");
  }

  function kindOf(entry) {
    return entry.type === "message" ? String(entry.role) : String(entry.type);
  }

  var BOOKKEEPING = new Set(["label", "session_info", "extension_data", "model_change", "system_prompt"]);

  function hasToolCallsOnly(entry) {
    return entry.role === "assistant" && !textOf(entry).trim() &&
      partsOf(entry).some(function (p) { return p.type === "tool_call"; });
  }

  var FILTERS = {
    "default": function (e) { return !BOOKKEEPING.has(e.type); },
    "no-tools": function (e) { return !BOOKKEEPING.has(e.type) && e.role !== "tool" && !hasToolCallsOnly(e); },
    "user": function (e) { return e.type === "message" && e.role === "user"; },
    "labeled": function (e) { return Object.prototype.hasOwnProperty.call(labels, e.id); },
    "all": function () { return true; }
  };

  var searchCache = new Map();

  function searchText(entry) {
    var cached = searchCache.get(entry.id);
    if (cached !== undefined) return cached;
    var bits = [textOf(entry), labels[entry.id] || ""];
    partsOf(entry).forEach(function (p) {
      if (p.type === "tool_call") bits.push(String(p.data.name || ""), String(p.data.input || ""));
      else if (p.type === "tool_result") bits.push(String(p.data.content || ""));
      else if (p.type === "reasoning") bits.push(String(p.data.thinking || ""));
    });
    ["summary", "name", "model_id", "label", "content"].forEach(function (key) {
      if (typeof entry[key] === "string") bits.push(entry[key]);
    });
    var text = bits.join("\n").toLowerCase();
    searchCache.set(entry.id, text);
    return text;
  }

  function oneLine(text, limit) {
    var flat = String(text || "").replace(/\s+/g, " ").trim();
    return flat.length > limit ? flat.slice(0, limit - 1) + "…" : flat;
  }

  function callHeader(name, input) {
    var args = null;
    try { args = JSON.parse(input || "{}"); } catch (err) { args = null; }
    if (!args || typeof args !== "object") return name + " " + oneLine(input, 100);
    if (name === "bash" && typeof args.command === "string") return "bash $ " + oneLine(args.command, 100);
    if (typeof args.path === "string") return name + " " + args.path;
    if (typeof args.pattern === "string") return name + " " + JSON.stringify(args.pattern);
    return name + " " + oneLine(JSON.stringify(args), 100);
  }

  function rowText(entry) {
    switch (entry.type) {
      case "message": {
        var text = textOf(entry);
        if (text.trim()) return oneLine(text, 90);
        var calls = partsOf(entry).filter(function (p) { return p.type === "tool_call"; });
        if (calls.length) return calls.map(function (p) { return callHeader(p.data.name, p.data.input); }).join(", ");
        var results = partsOf(entry).filter(function (p) { return p.type === "tool_result"; });
        if (results.length) return results.map(function (p) { return (p.data.name || "tool") + ": " + oneLine(p.data.content, 60); }).join(", ");
        if (partsOf(entry).some(function (p) { return p.type === "image"; })) return "(image)";
        return "(empty)";
      }
      case "compaction": return "compaction: " + oneLine(entry.summary, 80);
      case "branch_summary": return "branch summary: " + oneLine(entry.summary, 70);
      case "model_change": return "model " + (entry.provider ? entry.provider + "/" : "") + (entry.model_id || "") +
        (entry.thinking_level ? " · thinking " + entry.thinking_level : "");
      case "label": return "label " + JSON.stringify(entry.label || "") + " on " + String(entry.target_id || "").slice(0, 8);
      case "session_info": return "name: " + (entry.name || "");
      case "extension_data": return String(entry.ext_type || "extension data");
      case "system_prompt": return "system prompt: " + oneLine(entry.content, 70);
      default: return String(entry.type);
    }
  }

  function pathTo(id) {
    var out = [];
    var seen = new Set();
    while (id !== null && id !== undefined && byId.has(id) && !seen.has(id)) {
      seen.add(id);
      out.push(byId.get(id));
      id = parentOf.get(id);
    }
    return out.reverse();
  }

  // --- markdown -----------------------------------------------------------------------------------------

  var SAFE_URL = /^(https?:|mailto:)/i;
  var IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
  var DATA_IMAGE = /^data:(image\/(?:png|jpeg|gif|webp));base64,[A-Za-z0-9+/=]+$/;

  function link(text, url) {
    if (!SAFE_URL.test(url)) return el("span", "unsafe-link", text);
    var a = el("a", null, text);
    a.href = url;
    a.rel = "noopener noreferrer nofollow";
    a.target = "_blank";
    return a;
  }

  var INLINE = new RegExp([
    "(`+)([^`][\\s\\S]*?)\\1(?!`)",                              // 1,2 code span
    "(!?)\\[([^\\]\\n]*)\\]\\(\\s*<?([^()\\s<>]*)>?(?:\\s+\"[^\"\\n]*\")?\\s*\\)", // 3,4,5 link or image
    "<((?:https?|mailto):[^>\\s]+)>",                               // 6 autolink
    "((?:https?:\\/\\/)[^\\s<>\"']*[^\\s<>\"'.,:;!?)\\]])",          // 7 bare URL
    "(\\*\\*|__)(?=\\S)([\\s\\S]*?\\S)\\8",                         // 8,9 strong
    "(\\*|_)(?=[^\\s*_])([\\s\\S]*?[^\\s\\\\])\\10(?![*\\w])",        // 10,11 emphasis
    "~~(?=\\S)([\\s\\S]*?\\S)~~",                                    // 12 strikethrough
    "\\\\([!-/:-@[-`{-~])",                                          // 13 backslash escape
    "(\\n)"                                                          // 14 line break
  ].join("|"), "g");

  function inline(text, parent) {
    var re = new RegExp(INLINE.source, "g");
    var last = 0;
    var m;
    while ((m = re.exec(text)) !== null) {
      if ((m[10] === "_" || m[8] === "__") &&
          (/\w/.test(text[m.index - 1] || "") || /\w/.test(text[re.lastIndex] || ""))) {
        re.lastIndex = m.index + 1;  // snake_case and __dunder__names are not emphasis
        continue;
      }
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      last = re.lastIndex;
      if (m[1] !== undefined) {
        add(parent, el("code", null, m[2].replace(/^ (.*) $/, "$1")));
      } else if (m[4] !== undefined) {
        if (m[3] === "!" && DATA_IMAGE.test(m[5])) {
          var img = add(parent, el("img", "inline-image"));
          img.alt = m[4];
          img.src = m[5];
        } else {
          var label = m[4] || m[5];
          add(parent, link(label, m[5]));
        }
      } else if (m[6] !== undefined) {
        add(parent, link(m[6], m[6]));
      } else if (m[7] !== undefined) {
        add(parent, link(m[7], m[7]));
      } else if (m[9] !== undefined) {
        inline(m[9], add(parent, el("strong")));
      } else if (m[11] !== undefined) {
        inline(m[11], add(parent, el("em")));
      } else if (m[12] !== undefined) {
        inline(m[12], add(parent, el("del")));
      } else if (m[13] !== undefined) {
        parent.appendChild(document.createTextNode(m[13]));
      } else {
        add(parent, el("br"));
      }
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  var FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
  var HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?(?:\s+#+)?\s*$/;
  var RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
  var QUOTE = /^ {0,3}> ?(.*)$/;
  var ITEM = /^( {0,3})([-*+]|\d{1,9}[.)])(\s+|$)(.*)$/;
  var TABLE_RULE = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

  function startsBlock(line) {
    return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line);
  }

  function cells(line) {
    var body = line.trim().replace(/^\|/, "").replace(/\|$/, "");
    return body.split(/(?<!\\)\|/).map(function (c) { return c.trim().replace(/\\\|/g, "|"); });
  }

  function markdown(src, parent) {
    var lines = String(src).replace(/\r\n?/g, "\n").split("\n");
    var i = 0;
    while (i < lines.length) {
      var line = lines[i];
      var m;
      if ((m = FENCE.exec(line))) {
        var fence = m[1];
        var close = new RegExp("^ {0,3}" + (fence[0] === "`" ? "`" : "~") + "{" + fence.length + ",}\\s*$");
        var body = [];
        i++;
        while (i < lines.length && !close.test(lines[i])) body.push(lines[i++]);
        i++;
        add(parent, codeBlock(body.join("\n"), m[2]));
        continue;
      }
      if (!line.trim()) { i++; continue; }
      if ((m = HEADING.exec(line))) {
        inline(m[2] || "", add(parent, el("h" + Math.min(6, m[1].length + 2), "md-heading")));
        i++;
        continue;
      }
      if (RULE.test(line)) { add(parent, el("hr")); i++; continue; }
      if (QUOTE.test(line)) {
        var quoted = [];
        while (i < lines.length && (m = QUOTE.exec(lines[i]))) { quoted.push(m[1]); i++; }
        markdown(quoted.join("\n"), add(parent, el("blockquote")));
        continue;
      }
      if ((m = ITEM.exec(line))) {
        i = list(lines, i, parent);
        continue;
      }
      if (line.indexOf("|") >= 0 && i + 1 < lines.length && TABLE_RULE.test(lines[i + 1]) && lines[i + 1].indexOf("-") >= 0) {
        var table = add(parent, el("table"));
        var head = add(add(table, el("thead")), el("tr"));
        cells(line).forEach(function (c) { inline(c, add(head, el("th"))); });
        var tbody = add(table, el("tbody"));
        i += 2;
        while (i < lines.length && lines[i].indexOf("|") >= 0 && lines[i].trim()) {
          var row = add(tbody, el("tr"));
          cells(lines[i]).forEach(function (c) { inline(c, add(row, el("td"))); });
          i++;
        }
        continue;
      }
      var para = [line];
      i++;
      while (i < lines.length && lines[i].trim() && !startsBlock(lines[i])) para.push(lines[i++]);
      inline(para.join("\n"), add(parent, el("p")));
    }
  }

  function list(lines, i, parent) {
    var first = ITEM.exec(lines[i]);
    var ordered = /\d/.test(first[2]);
    var node = add(parent, el(ordered ? "ol" : "ul"));
    if (ordered && parseInt(first[2], 10) !== 1) node.start = parseInt(first[2], 10);
    while (i < lines.length) {
      var m = ITEM.exec(lines[i]);
      if (!m || /\d/.test(m[2]) !== ordered) break;
      var indent = m[1].length + m[2].length + Math.max(1, Math.min(4, m[3].length || 1));
      var body = [m[4]];
      i++;
      while (i < lines.length) {
        var next = lines[i];
        if (!next.trim()) {
          var after = lines[i + 1];
          if (after !== undefined && after.trim() && /^\s*/.exec(after)[0].length >= indent) { body.push(""); i++; continue; }
          break;
        }
        var lead = /^\s*/.exec(next)[0].length;
        if (lead >= indent) { body.push(next.slice(indent)); i++; continue; }
        if (ITEM.test(next) || startsBlock(next)) break;
        body.push(next.trim());  // a lazy continuation line
        i++;
      }
      var item = add(node, el("li"));
      if (body.length === 1 && !startsBlock(body[0])) inline(body[0], item);
      else markdown(body.join("\n"), item);
    }
    return i;
  }

  // --- code highlighting ----------------------------------------------------------------------------------

  var KEYWORDS = new Set((
    "and as assert async await break case catch class const continue def default defer del do elif else " +
    "enum except export extends false final finally fn for from func function go if impl import in " +
    "interface is lambda let loop match mod module mut new nil none not null or package pass private " +
    "protected pub public raise return self select static struct super switch this throw throws trait " +
    "true try type typeof use var void where while with yield True False None echo fi then done esac local"
  ).split(" "));
  var HASH_COMMENTS = new Set(["python", "py", "sh", "bash", "shell", "zsh", "console", "yaml", "yml", "toml",
    "ruby", "rb", "perl", "r", "dockerfile", "makefile", "make", "ini", "conf", "nix", "elixir", "ex"]);
  var SLASH_COMMENTS = new Set(["js", "javascript", "ts", "typescript", "jsx", "tsx", "java", "c", "h", "cpp",
    "c++", "cc", "hpp", "cs", "csharp", "go", "golang", "rust", "rs", "swift", "kotlin", "kt", "scala",
    "php", "dart", "zig", "css", "scss", "less", "jsonc", "groovy", "proto"]);
  var DASH_COMMENTS = new Set(["sql", "lua", "haskell", "hs", "elm"]);

  function highlighter(lang) {
    var comment = HASH_COMMENTS.has(lang) ? "#[^\\n]*" :
      SLASH_COMMENTS.has(lang) ? "\\/\\/[^\\n]*|\\/\\*[\\s\\S]*?\\*\\/" :
      DASH_COMMENTS.has(lang) ? "--[^\\n]*" : null;
    if (comment === null && lang !== "json") return null;
    var strings = lang === "python" || lang === "py"
      ? "\"\"\"[\\s\\S]*?\"\"\"|'''[\\s\\S]*?'''|\"(?:\\\\.|[^\"\\\\\\n])*\"|'(?:\\\\.|[^'\\\\\\n])*'"
      : "\"(?:\\\\.|[^\"\\\\\\n])*\"|'(?:\\\\.|[^'\\\\\\n])*'|`(?:\\\\.|[^`\\\\])*`";
    var parts = [];
    parts.push(comment ? "(" + comment + ")" : "((?!))");
    parts.push("(" + strings + ")", "(\\b\\d[\\d_]*(?:\\.\\d+)?(?:[eE][+-]?\\d+)?\\b|\\b0x[0-9a-fA-F]+\\b)", "([A-Za-z_][\\w]*)");
    return new RegExp(parts.join("|"), "g");
  }

  function highlight(code, lang, target) {
    lang = String(lang || "").toLowerCase();
    if (lang === "diff" || lang === "patch") {
      code.split("\n").forEach(function (line, n) {
        if (n > 0) target.appendChild(document.createTextNode("\n"));
        var cls = /^(\+\+\+|---)/.test(line) ? "hl-meta" : line[0] === "+" ? "hl-add" : line[0] === "-" ? "hl-del" :
          /^@@/.test(line) ? "hl-hunk" : null;
        if (cls) add(target, el("span", cls, line)); else target.appendChild(document.createTextNode(line));
      });
      return;
    }
    var re = highlighter(lang);
    if (!re) { target.textContent = code; return; }
    var last = 0;
    var m;
    while ((m = re.exec(code)) !== null) {
      if (m[0] === "") { re.lastIndex++; continue; }
      var cls = m[1] !== undefined ? "hl-comment" : m[2] !== undefined ? "hl-string" : m[3] !== undefined ? "hl-number" :
        KEYWORDS.has(m[4]) ? "hl-keyword" : null;
      if (!cls) continue;
      if (m.index > last) target.appendChild(document.createTextNode(code.slice(last, m.index)));
      add(target, el("span", cls, m[0]));
      last = re.lastIndex;
    }
    if (last < code.length) target.appendChild(document.createTextNode(code.slice(last)));
  }

  var LONG_CODE = 40;

  function codeBlock(code, lang) {
    var pre = el("pre", "code");
    if (lang) pre.dataset.lang = lang;
    highlight(code, lang, add(pre, el("code")));
    var lines = lineCount(code);
    if (lines <= LONG_CODE) return pre;
    var box = details("long-code", (lang ? lang + " · " : "") + number(lines) + " lines", false);
    add(box, pre);
    return box;
  }

  // --- the conversation pane ---------------------------------------------------------------------------------

  function image(part) {
    var type = String(part.data.media_type || "");
    var b64 = String(part.data.data || "");
    if (!IMAGE_TYPES.has(type) || !/^[A-Za-z0-9+/=\s]*$/.test(b64)) return el("div", "image-placeholder", "(image: " + type + ")");
    var img = el("img", "message-image");
    img.alt = "image (" + type + ")";
    img.src = "data:" + type + ";base64," + b64.replace(/\s+/g, "");
    return img;
  }

  function langOfPath(path) {
    var m = /\.([A-Za-z0-9+]+)$/.exec(String(path || ""));
    return m ? m[1].toLowerCase() : "";
  }

  function toolCall(part, result) {
    var box = el("div", "tool-call");
    box.dataset.callId = String(part.data.id || "");
    var head = add(box, el("div", "tool-head"));
    add(head, el("span", "tool-icon", "⚙"));
    add(head, el("span", "tool-title", callHeader(String(part.data.name || "tool"), part.data.input)));
    var args = null;
    try { args = JSON.parse(part.data.input || "{}"); } catch (err) { args = null; }
    var pretty = args !== null ? JSON.stringify(args, null, 2) : String(part.data.input || "");
    var argBox = add(box, details("tool-args", "arguments", lineCount(pretty) <= 6));
    if (args && typeof args === "object" && typeof args.command === "string" && part.data.name === "bash") {
      add(argBox, codeBlock(args.command, "sh"));
    } else if (args && typeof args === "object" && typeof args.content === "string") {
      add(argBox, el("div", "tool-path", args.path || ""));
      add(argBox, codeBlock(args.content, langOfPath(args.path)));
    } else {
      add(argBox, codeBlock(pretty, "json"));
    }
    if (result) add(box, toolResult(result));
    else add(box, el("div", "tool-missing", "no result recorded"));
    return box;
  }

  var SHORT_RESULT = 10;

  function toolResult(part) {
    var d = part.data;
    var content = String(d.content || "");
    var lines = lineCount(content);
    var facts = [lines + (lines === 1 ? " line" : " lines")];
    if (d.exit_code !== undefined && d.exit_code !== null) facts.push("exit " + d.exit_code);
    if (d.duration_ms !== undefined && d.duration_ms !== null) facts.push(d.duration_ms + " ms");
    if (d.is_error) facts.push("error");
    var box = details("tool-result" + (d.is_error ? " error" : ""), "result · " + facts.join(" · "), lines <= SHORT_RESULT);
    box.dataset.callId = String(d.tool_call_id || "");
    var pre = add(box, el("pre", "output"));
    pre.textContent = content;
    if (typeof d.diff === "string" && d.diff) add(box, codeBlock(d.diff, "diff"));
    return box;
  }

  function messageHead(entry, title) {
    var head = el("div", "msg-head");
    add(head, el("span", "role", title));
    if (entry.model && entry.role === "assistant") add(head, el("span", "model", entry.model));
    if (labels[entry.id]) add(head, el("span", "label-badge", labels[entry.id]));
    if (entry.timestamp) add(head, el("time", "time", String(entry.timestamp).replace("T", " ").replace(/\.\d+/, "")));
    return head;
  }

  var STOPS = { aborted: "interrupted by the user", error: "failed", length: "cut off at the length limit", max_steps: "stopped at the step limit" };

  function renderMessage(entry, results, used) {
    var role = String(entry.role);
    var box = el("section", "msg " + role.replace(/[^a-z]/g, ""));
    box.dataset.id = entry.id;
    if (role === "system") {
      add(box, messageHead(entry, "System prompt"));
      var sys = add(box, details("system-text", "show the system prompt", false));
      add(sys, el("pre", "output", textOf(entry)));
      return box;
    }
    add(box, messageHead(entry, { user: "User", assistant: "Assistant", tool: "Tool results" }[role] || role));
    var body = add(box, el("div", "msg-body"));
    partsOf(entry).forEach(function (p) {
      if (p.type === "text" && typeof p.data.text === "string") markdown(p.data.text, add(body, el("div", "md")));
      else if (p.type === "reasoning") {
        var r = add(body, details("reasoning", "reasoning", false));
        markdown(String(p.data.thinking || ""), add(r, el("div", "md")));
      } else if (p.type === "tool_call") {
        var result = results.get(String(p.data.id));
        if (result) used.add(result);
        add(body, toolCall(p, result));
      } else if (p.type === "tool_result") {
        if (!used.has(p)) add(body, toolResult(p));
      } else if (p.type === "image") add(body, image(p));
    });
    if (role === "assistant") {
      var usage = entry.usage;
      var foot = [];
      if (STOPS[entry.stop_reason]) foot.push(STOPS[entry.stop_reason]);
      if (entry.error) foot.push(String(entry.error));
      if (usage && typeof usage === "object") {
        foot.push(number(usage.input_tokens) + " in · " + number(usage.output_tokens) + " out" +
          (usage.cache_read_tokens ? " · " + number(usage.cache_read_tokens) + " cached" : "") +
          (usage.cost_usd !== undefined && usage.cost_usd !== null ? " · " + cost(usage.cost_usd) : ""));
      }
      if (foot.length) add(box, el("div", "msg-foot" + (STOPS[entry.stop_reason] ? " stopped" : ""), foot.join(" · ")));
    }
    if (role === "tool" && !body.childNodes.length) return null;  // every result is shown with its call
    return box;
  }

  function renderEntry(entry, results, used) {
    if (entry.type === "message") return renderMessage(entry, results, used);
    var box;
    if (entry.type === "compaction") {
      box = el("section", "marker compaction");
      var what = "Compaction · " + number(entry.messages_removed) + " messages summarized";
      if (entry.tokens_before) what += " (" + number(entry.tokens_before) + " → " + number(entry.tokens_after) + " tokens)";
      add(box, el("div", "marker-title", what));
      markdown(String(entry.summary || ""), add(add(box, details("summary", "summary", false)), el("div", "md")));
    } else if (entry.type === "branch_summary") {
      box = el("section", "marker branch-summary");
      add(box, el("div", "marker-title", "Branch summary"));
      markdown(String(entry.summary || ""), add(box, el("div", "md")));
    } else if (entry.type === "model_change") {
      box = el("div", "event", rowText(entry));
    } else {
      return null;
    }
    box.dataset.id = entry.id;
    return box;
  }

  function resultsOn(path) {
    var results = new Map();
    path.forEach(function (entry) {
      if (entry.type === "message" && entry.role === "tool") {
        partsOf(entry).forEach(function (p) {
          if (p.type === "tool_result" && !results.has(String(p.data.tool_call_id))) results.set(String(p.data.tool_call_id), p);
        });
      }
    });
    return results;
  }

  function renderConversation(id) {
    var main = document.getElementById("conversation");
    main.textContent = "";
    var path = pathTo(id);
    var info = add(main, el("div", "path-info"));
    info.id = "path-info";
    add(info, document.createTextNode(id === data.leaf ? "Active branch" : "Path to the selected entry"));
    add(info, el("span", "path-count", " · " + path.length + " entries from the root"));
    var results = resultsOn(path);
    var used = new Set();
    path.forEach(function (entry) {
      var node = renderEntry(entry, results, used);
      if (node) add(main, node);
    });
    var target = main.querySelector('[data-id="' + CSS.escape(id) + '"]');
    if (target) target.classList.add("selected");
  }

  // --- the tree -------------------------------------------------------------------------------------------

  var activePath = new Set(pathTo(data.leaf).map(function (e) { return e.id; }));

  function renderTree() {
    var filterName = document.getElementById("filter").value;
    var keep = FILTERS[filterName] || FILTERS["default"];
    var query = document.getElementById("search").value.trim().toLowerCase();
    var shown = function (entry) { return keep(entry) && (!query || searchText(entry).indexOf(query) >= 0); };
    var visible = new Map();
    var nearest = new Map();  // id -> nearest shown ancestor (null: none)
    var kids = new Map([[null, []]]);
    entries.forEach(function (entry) {
      var parent = parentOf.get(entry.id);
      var up = null;
      if (parent !== null && parent !== undefined && byId.has(parent)) {
        if (visible.has(parent)) up = parent;
        else if (nearest.has(parent)) up = nearest.get(parent);
        else {
          var walk = parentOf.get(parent);
          var guard = 0;
          while (walk !== null && walk !== undefined && !visible.has(walk) && guard++ < entries.length) walk = parentOf.get(walk);
          up = walk === undefined ? null : walk;
        }
      }
      nearest.set(entry.id, up);
      if (shown(entry)) {
        visible.set(entry.id, entry);
        if (!kids.has(up)) kids.set(up, []);
        kids.get(up).push(entry.id);
      }
    });
    // The leaf is often bookkeeping (a name, a model change): mark the nearest entry the tree shows.
    var leaf = visible.has(data.leaf) ? data.leaf : nearest.get(data.leaf);
    var tree = document.getElementById("tree");
    tree.textContent = "";
    var fragment = document.createDocumentFragment();
    var stack = (kids.get(null) || []).slice().reverse().map(function (id) { return [id, 0]; });
    var rootsBranch = (kids.get(null) || []).length > 1;
    var forks = new Map();  // id -> "fork" | "fork-last": the first entry of a branch
    while (stack.length) {
      var top = stack.pop();
      var id = top[0];
      var depth = top[1];
      var entry = visible.get(id);
      var row = el("div", "node kind-" + kindOf(entry).replace(/[^a-z_]/g, ""));
      row.dataset.id = id;
      row.setAttribute("role", "treeitem");
      row.tabIndex = 0;
      row.style.setProperty("--depth", String(depth + (rootsBranch ? 1 : 0)));
      if (activePath.has(id)) row.classList.add("on-path");
      if (id === leaf) row.classList.add("leaf");
      if (id === selected) row.classList.add("selected");
      add(row, el("span", "node-role", kindOf(entry).replace("_", " ")));
      add(row, el("span", "node-text", rowText(entry)));
      if (labels[id]) add(row, el("span", "label-badge", labels[id]));
      row.title = String(entry.timestamp || "") + "  " + id;
      fragment.appendChild(row);
      var children = kids.get(id) || [];
      var next = depth + (children.length > 1 ? 1 : 0);
      if (children.length > 1) {  // mark where branches start, so siblings read as alternatives
        children.forEach(function (child, k) { forks.set(child, k === children.length - 1 ? "fork-last" : "fork"); });
      }
      if (forks.has(id)) row.classList.add(forks.get(id));
      for (var k = children.length - 1; k >= 0; k--) stack.push([children[k], next]);
    }
    tree.appendChild(fragment);
    document.getElementById("tree-count").textContent = visible.size + " of " + entries.length + " entries";
  }

  function select(id, scroll) {
    if (!byId.has(id)) return;
    selected = id;
    document.querySelectorAll("#tree .node.selected").forEach(function (n) { n.classList.remove("selected"); });
    var row = document.querySelector('#tree .node[data-id="' + CSS.escape(id) + '"]');
    if (row) {
      row.classList.add("selected");
      if (scroll) row.scrollIntoView({ block: "nearest" });
    }
    renderConversation(id);
    if (location.hash.slice(1) !== id) {
      try { history.replaceState(null, "", "#" + id); } catch (err) { /* a sandboxed viewer: no deep link */ }
    }
  }

  // --- the header ---------------------------------------------------------------------------------------------

  function renderHeader() {
    var s = data.session;
    var header = document.getElementById("header");
    add(header, el("h1", null, s.name || ("Session " + String(s.id).slice(0, 8))));
    var facts = add(header, el("dl", "facts"));
    var t = s.totals || {};
    [
      ["cwd", s.cwd],
      ["model", (s.model || "unknown") + (s.thinking_level ? " · thinking " + s.thinking_level : "")],
      ["messages", number(t.messages) + " (" + number(t.answers) + " answers)"],
      ["tokens", number(t.input_tokens) + " in · " + number(t.output_tokens) + " out" +
        (t.cache_read_tokens ? " · " + number(t.cache_read_tokens) + " cached" : "")],
      ["cost", cost(t.cost_usd)],
      ["created", String(s.created || "").replace("T", " ").replace(/\.\d+/, "")],
      ["session", s.id]
    ].forEach(function (pair) {
      var item = add(facts, el("div", "fact"));
      add(item, el("dt", null, pair[0]));
      add(item, el("dd", "fact-" + pair[0], pair[1]));
    });
    if (s.system_prompt) {
      var box = add(header, details("system-prompt", "system prompt", false));
      add(box, el("pre", "output", s.system_prompt));
    }
    add(header, el("div", "exported", "exported " + String(data.exported || "").replace("T", " ").replace(/\.\d+/, "") + " by kit_py " + (data.kit || "")));
  }

  // --- wiring -------------------------------------------------------------------------------------------------

  renderHeader();
  renderTree();
  document.getElementById("filter").addEventListener("change", renderTree);
  document.getElementById("search").addEventListener("input", renderTree);
  var tree = document.getElementById("tree");
  tree.addEventListener("click", function (event) {
    var row = event.target.closest(".node");
    if (row) select(row.dataset.id, false);
  });
  tree.addEventListener("keydown", function (event) {
    var row = event.target.closest(".node");
    if (!row) return;
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); select(row.dataset.id, false); }
    else if (event.key === "ArrowDown" && row.nextElementSibling) { event.preventDefault(); row.nextElementSibling.focus(); }
    else if (event.key === "ArrowUp" && row.previousElementSibling) { event.preventDefault(); row.previousElementSibling.focus(); }
  });
  window.addEventListener("hashchange", function () { select(location.hash.slice(1), true); });
  var start = location.hash.slice(1);
  select(byId.has(start) ? start : (data.leaf || (entries.length ? entries[entries.length - 1].id : "")), true);
  document.body.classList.add("ready");
})();
