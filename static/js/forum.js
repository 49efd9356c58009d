/* forum: progressive enhancement for server-rendered pages.
 *
 * 1. Live updates over one websocket (/ws): subscribe to the topics the page rendered
 *    (body[data-topics] = "topic=seq ..."), apply events in place, catch up after a reconnect.
 * 2. Drafts: every form[data-draft] keeps its text in localStorage until the post went through.
 *
 * Test hook: window.forumLive (socket, seqs, hold(), resume()).
 */
(() => {
  "use strict";

  const body = document.body;
  const me = body.dataset.me || "";
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  function el(tag, attrs = {}, text = "") {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text) node.textContent = text;
    return node;
  }

  /* The server-rendered, server-sanitised `html` of an event: parsed inert in a <template>. */
  function fromHTML(html) {
    const t = document.createElement("template");
    t.innerHTML = html;
    return t.content.firstElementChild;
  }

  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  const here = () => location.pathname + location.search;

  /* ---------------------------------------------------------------- announcements */

  const announcer = $("#live-announcer");
  const heard = { replies: [], other: new Set() };
  let announceTimer = null;

  function announce(message) {
    heard.other.add(message);
    scheduleAnnounce();
  }

  function scheduleAnnounce() {
    clearTimeout(announceTimer);
    announceTimer = setTimeout(flushAnnounce, 700); // several events become one sentence
  }

  function flushAnnounce() {
    if (!announcer) return;
    const parts = [];
    const n = heard.replies.length;
    if (n === 1) parts.push(`New reply from ${heard.replies[0]}`);
    else if (n > 1) parts.push(`${n} new replies`);
    parts.push(...heard.other);
    heard.replies = [];
    heard.other.clear();
    announcer.textContent = "";
    // A fresh text node after a tick, so the same sentence twice is still spoken twice.
    setTimeout(() => { announcer.textContent = parts.join(". "); }, 50);
  }

  /* ---------------------------------------------------------------- thread: new posts */

  const rootList = $("ol.posts[data-thread]");
  const threadId = rootList ? rootList.dataset.thread : null;
  const newButton = $("#new-replies");
  const pending = []; // inserted posts the reader has not scrolled to yet
  let offPage = []; // ids of new posts whose place is not on this page

  const seen = "IntersectionObserver" in window
    ? new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (!entry.isIntersecting) continue;
        seen.unobserve(entry.target);
        const i = pending.indexOf(entry.target);
        if (i >= 0) pending.splice(i, 1);
      }
      updateNewButton();
    })
    : null;

  function updateNewButton() {
    if (!newButton) return;
    const n = pending.length + offPage.length;
    newButton.hidden = n === 0;
    newButton.textContent = plural(n, "new reply", "new replies");
  }

  function inView(node) {
    const r = node.getBoundingClientRect();
    return r.height > 0 && r.bottom > 0 && r.top < window.innerHeight;
  }

  function revealAndFocus(li) {
    for (let d = li.closest("details"); d; d = d.parentElement.closest("details")) d.open = true;
    li.setAttribute("tabindex", "-1");
    li.scrollIntoView({ block: "center" });
    li.focus({ preventScroll: true });
  }

  if (newButton) {
    newButton.addEventListener("click", () => {
      if (pending.length) {
        pending.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
        const first = pending[0];
        for (const li of pending) if (seen) seen.unobserve(li);
        pending.length = 0;
        offPage = [];
        updateNewButton();
        revealAndFocus(first);
      } else if (offPage.length) {
        location.href = `/p/${offPage[0]}`; // its own page, where it is in context
      }
    });
  }

  function authorHandle(li) {
    const handle = $(".post-meta .author .muted", li);
    return handle ? handle.textContent.trim() : "a former member";
  }

  function updateSummary(parentLi, details) {
    const n = $(":scope > ol.replies", details).children.length;
    const who = $(".post-meta .author .muted", parentLi);
    const summary = $(":scope > summary", details);
    summary.textContent = `${plural(n, "reply", "replies")} to ${who ? who.textContent.trim() : "this post"}`;
  }

  /* The pushed partial is rendered for nobody in particular; the frame carries this reader's
     controls as data (`can`, from the server's policy), and this only draws them, in the order
     the page itself draws them. No rule is decided here. */
  function setControls(li, can) {
    const article = $(":scope > article.post-body", li);
    if (!article || !can) return;
    const old = $(":scope > nav.post-actions", article);
    if (li.classList.contains("is-deleted")) {
      if (old) old.remove();
      return;
    }
    const nav = el("nav", { class: "post-actions", "aria-label": "Post actions" });
    const id = li.dataset.post;
    if (can.reply) nav.append(el("a", { href: `/t/${threadId}/reply?to=${id}`, "data-reply": id }, "Reply"));
    if (can.edit) nav.append(el("a", { href: `/p/${id}/edit` }, "Edit"));
    if (can.flag) nav.append(el("a", { href: `/p/${id}/flag` }, "Flag"));
    if (can.flag) nav.append(el("a", { href: `/reports/new?post=${id}` }, "Report to the committee"));
    if (can.moderate) nav.append(el("a", { href: `/p/${id}/moderate` }, "Moderate"));
    else if (can.appeal) nav.append(el("a", { href: `/p/${id}/moderate` }, "Appeal"));
    if (can.bookmark && actsForm) {
      const before = old && $("button.bookmark", old);
      nav.append(before || bookmarkButton(id, false));
    }
    if (old) old.replaceWith(nav);
    else article.append(nav);
    if (can.react) drawReactionButtons(li);
  }

  function countPost() {
    const counter = $("#post-count");
    if (!counter) return;
    const n = Number(counter.dataset.count || 0) + 1;
    counter.dataset.count = String(n);
    counter.textContent = plural(n, "post", "posts");
  }

  function insertPost(html, data, can) {
    if (!rootList || document.getElementById(`p${data.post_id}`)) return;
    countPost(); // the thread's count moves even when the post's place is on another page
    const mine = String(data.author_id) === me;
    const countOffPage = () => {
      if (!mine && !offPage.includes(data.post_id)) offPage.push(data.post_id);
      updateNewButton();
    };
    let list;
    let parentLi = null;
    if (data.parent_id == null) {
      const first = $(":scope > li.post", rootList);
      const branchPage = first && first.dataset.depth !== "0";
      if (branchPage) return countOffPage();
      list = rootList;
    } else {
      parentLi = document.getElementById(`p${data.parent_id}`);
      if (!parentLi || !rootList.contains(parentLi) || $(":scope > .continue", parentLi)) {
        return countOffPage();
      }
      let details = $(":scope > details.collapse", parentLi);
      if (!details) {
        details = el("details", { class: "collapse", open: "" });
        details.append(el("summary"), el("ol", { class: "replies" }));
        parentLi.append(details);
      }
      list = $(":scope > ol.replies", details);
    }
    const li = fromHTML(html);
    if (!li || li.tagName !== "LI") return;
    const path = li.dataset.path || data.path || "";
    const next = Array.from(list.children).find((s) => (s.dataset.path || "") > path);
    // A new top-level post sorts last; with later pages unseen, that place is not on this page.
    if (!next && list === rootList && $("nav.pager")) return countOffPage();
    list.insertBefore(li, next || null);
    if (parentLi) updateSummary(parentLi, list.parentElement);
    const empty = $("#no-posts");
    if (empty) empty.remove();
    setControls(li, can);
    if (mine) return;
    li.classList.add("is-new");
    heard.replies.push(authorHandle(li));
    scheduleAnnounce();
    if (!inView(li)) {
      pending.push(li);
      if (seen) seen.observe(li);
      updateNewButton();
    }
  }

  /* Edited, deleted, hidden, restored: swap the post's own body, keep its replies. */
  function replacePost(html, data, can) {
    const li = document.getElementById(`p${data.post_id}`);
    const fresh = html && fromHTML(html);
    if (!li || !fresh) return;
    const oldBody = $(":scope > article.post-body", li);
    const newBody = $(":scope > article.post-body", fresh);
    if (!oldBody || !newBody) return;
    const oldNav = $(":scope > nav.post-actions", oldBody);
    const newNav = $(":scope > nav.post-actions", newBody);
    // The pushed partial is nobody's: keep this reader's own reaction buttons.
    const oldBar = $(":scope > .reactions", oldBody);
    const newBar = $(":scope > .reactions", newBody);
    if (oldBar && newBar) newBar.replaceWith(oldBar);
    // Without controls in the frame, keep this reader's links rather than nobody's.
    if (!can && oldNav && newNav) newNav.replaceWith(oldNav);
    oldBody.replaceWith(newBody);
    const wasNew = li.classList.contains("is-new");
    li.className = fresh.className;
    if (wasNew) li.classList.add("is-new");
    setControls(li, can);
  }

  function threadChanged(what = "This thread changed") {
    if ($("#thread-changed")) return;
    const note = el("p", { class: "notice", id: "thread-changed" }, `${what}: `);
    note.append(el("a", { href: here() }, "reload"));
    const head = $("header.thread-head");
    if (head) head.after(note);
    else ($("main") || body).prepend(note);
    announce(what);
  }

  /* ---------------------------------------------------------------- decisions */

  const STATUS_WORDS = { draft: "draft", open: "voting open", closed: "closed" };

  // Counts are for every reader of the thread; the tally is not in the frame (it may be hidden
  // from this reader), so a decision page whose results show asks the server for its own copy.
  function decisionUpdated(data) {
    const id = Number(data.decision_id);
    if (!Number.isInteger(id)) return;
    for (const box of document.querySelectorAll(`[data-decision="${id}"]`)) {
      for (const f of box.querySelectorAll('[data-field="cast"]')) f.textContent = String(Number(data.ballots_cast) || 0);
      for (const f of box.querySelectorAll('[data-field="electorate"]')) f.textContent = String(Number(data.electorate) || 0);
      const tag = box.querySelector('[data-field="status"]');
      if (tag && STATUS_WORDS[data.status]) tag.textContent = STATUS_WORDS[data.status];
    }
    const article = $(`article.decision[data-decision="${id}"]`);
    if (!article) return;
    const closed = data.status !== article.dataset.status;
    if (closed) announce(data.status === "closed" ? "Voting has closed" : "This decision changed");
    if (closed || article.dataset.results === "shown") refreshDecision(article, closed);
  }

  async function refreshDecision(article, whole) {
    let response;
    try {
      // The decision's own address: after a secret vote this page is the answer to a POST.
      const url = `/d/${Number(article.dataset.decision)}`;
      response = await fetch(url, { credentials: "same-origin", headers: { accept: "text/html" } });
    } catch (e) { return; }
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = doc.querySelector(`article.decision[data-decision="${article.dataset.decision}"]`);
    if (!fresh) return;
    const typing = article.contains(document.activeElement) && document.activeElement.matches("input, textarea, select");
    if (whole && !typing) { article.replaceWith(fresh); return; }
    const outcome = $("#outcome", article);
    const next = fresh.querySelector("#outcome");
    if (outcome && next) outcome.replaceWith(next);
  }

  /* ---------------------------------------------------------------- reactions, bookmarks */

  // The page's one form for reaction and bookmark buttons (it carries the CSRF token); without
  // JavaScript the buttons submit it and the server redirects back to the post.
  const actsForm = $("#post-acts");
  const reactionKinds = actsForm ? JSON.parse(actsForm.dataset.kinds || "[]") : [];

  function bookmarkButton(id, saved) {
    const b = el("button", {
      type: "submit", form: "post-acts", formaction: `/p/${id}/bookmark`, class: "link bookmark",
      "data-bookmark": id, "aria-pressed": saved ? "true" : "false",
    }, saved ? "Bookmarked" : "Bookmark");
    return b;
  }

  /* A reaction pill or a picker's choice: the emoji comes from the stylesheet, the name is
     read out, and the count follows. */
  function reactionButton(id, kind, name, n) {
    const b = el("button", {
      type: "submit", form: "post-acts", formaction: `/p/${id}/react`, name: "kind", value: kind,
      class: "reaction", "data-kind": kind, "aria-pressed": "false", title: name,
    });
    b.append(el("span", { class: "visually-hidden" }, name), el("span", { class: "n" }, n ? String(n) : ""));
    return b;
  }

  function reactLink(id) {
    return el("a", { class: "react", href: `/p/${id}/reactions`, "data-react": id }, "React");
  }

  /* A pushed post shows plain counts; a reader who may react gets the buttons and "React". */
  function drawReactionButtons(li) {
    const bar = $(":scope > article.post-body > .reactions", li);
    if (!bar || $(":scope > .react", bar)) return;
    const counts = readCounts(bar);
    for (const node of $$(":scope > .reaction", bar)) node.remove();
    const who = $(":scope > .who", bar);
    for (const [kind, , name] of reactionKinds) {
      if (counts[kind]) bar.insertBefore(reactionButton(li.dataset.post, kind, name, counts[kind]), who);
    }
    bar.insertBefore(reactLink(li.dataset.post), who);
  }

  function readCounts(bar) {
    const counts = {};
    for (const part of (bar.dataset.counts || "").split(/\s+/)) {
      const [kind, n] = part.split(":");
      if (kind && Number(n) > 0) counts[kind] = Number(n);
    }
    return counts;
  }

  function myReactions(li) {
    return new Set($$(':scope > article.post-body > .reactions > button.reaction[aria-pressed="true"]', li)
      .map((b) => b.dataset.kind));
  }

  /* Counts are the same for every reader; a reader's own button changes only with their own
     reactions (a frame names who reacted, or the API answers this reader's own click). Only
     the kinds someone chose have a pill. */
  function setReactions(postId, counts, mine) {
    const li = document.getElementById(`p${postId}`);
    const bar = li && $(":scope > article.post-body > .reactions", li);
    if (!bar) return;
    bar.dataset.counts = Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => `${k}:${n}`).join(" ");
    const buttons = $(":scope > .react", bar) != null;
    const own = mine || myReactions(li);
    let total = 0;
    let before = $(":scope > .react", bar) || $(":scope > .who", bar);
    for (const [kind, , name] of [...reactionKinds].reverse()) {
      const n = counts[kind] || 0;
      total += n;
      let node = $(`:scope > .reaction[data-kind="${kind}"]`, bar);
      if (!n) {
        if (node) node.remove();
        continue;
      }
      if (!node) {
        if (buttons) node = reactionButton(postId, kind, name, n);
        else {
          node = el("span", { class: "reaction", "data-kind": kind, title: name });
          node.append(el("span", { class: "visually-hidden" }, name), el("span", { class: "n" }));
        }
        bar.insertBefore(node, before);
      }
      before = node;
      $(".n", node).textContent = String(n);
      if (node.tagName === "BUTTON") node.setAttribute("aria-pressed", own.has(kind) ? "true" : "false");
    }
    let who = $(":scope > .who", bar);
    if (total && !who && me) {
      who = el("a", { class: "who", href: `/p/${postId}/reactions` }, "Who reacted");
      bar.append(who);
    } else if (!total && who) who.remove();
  }

  function reactionFrame(data) {
    const li = document.getElementById(`p${data.post_id}`);
    if (!li) return;
    let mine = null;
    if (String(data.member_id) === me) {
      mine = myReactions(li);
      if (data.on) mine.add(data.kind);
      else mine.delete(data.kind);
    }
    setReactions(data.post_id, data.counts || {}, mine);
  }

  /* "React" opens a small picker of every kind under the post; a choice closes it. */
  function closePicker(picker, focus) {
    if (!picker) return;
    const link = picker.previousElementSibling;
    picker.remove();
    if (link) link.setAttribute("aria-expanded", "false");
    if (focus && link) link.focus();
  }

  function openPicker(link) {
    const li = link.closest("li.post");
    const open = $(".reaction-picker");
    if (open) {
      const same = open.previousElementSibling === link;
      closePicker(open, false);
      if (same) return;
    }
    const mine = myReactions(li);
    const picker = el("span", { class: "reaction-picker", role: "group", "aria-label": "Choose a reaction" });
    for (const [kind, , name] of reactionKinds) {
      const b = reactionButton(li.dataset.post, kind, name, 0);
      b.setAttribute("aria-pressed", mine.has(kind) ? "true" : "false");
      picker.append(b);
    }
    link.after(picker);
    link.setAttribute("aria-expanded", "true");
    $("button", picker).focus();
  }

  async function pressed(button) {
    const li = button.closest("li.post");
    const id = li && li.dataset.post;
    if (!id) return false;
    const on = button.getAttribute("aria-pressed") !== "true";
    const bookmark = button.classList.contains("bookmark");
    const url = bookmark
      ? (on ? "/api/v1/bookmarks" : `/api/v1/bookmarks/${id}`)
      : `/api/v1/posts/${id}/reactions/${button.dataset.kind}`;
    const response = await fetch(url, {
      method: on ? "POST" : "DELETE",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": body.dataset.csrf || "", "Content-Type": "application/json" },
      body: bookmark && on ? JSON.stringify({ post_id: Number(id) }) : undefined,
    });
    if (!response.ok) return false;
    if (bookmark) {
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = on ? "Bookmarked" : "Bookmark";
      announce(on ? "Bookmarked" : "Bookmark removed");
      return true;
    }
    const answer = await response.json();
    const counts = {};
    const mine = new Set();
    for (const r of answer.reactions || []) {
      counts[r.kind] = r.count;
      if (r.mine) mine.add(r.kind);
    }
    setReactions(id, counts, mine);
    return true;
  }

  if (actsForm) {
    document.addEventListener("click", (e) => {
      const link = e.target.closest && e.target.closest(".reactions > a.react");
      if (link) {
        e.preventDefault();
        openPicker(link);
        return;
      }
      const button = e.target.closest && e.target.closest("button.reaction, button.bookmark");
      if (!button || button.getAttribute("form") !== "post-acts") {
        if (!(e.target.closest && e.target.closest(".reaction-picker"))) closePicker($(".reaction-picker"), false);
        return;
      }
      e.preventDefault();
      const picker = button.closest(".reaction-picker");
      // Without an answer (offline, refused), the plain form says what happened.
      pressed(button).then((done) => {
        if (!done) actsForm.requestSubmit(button);
        else if (picker) closePicker(picker, true);
      }, () => actsForm.requestSubmit(button));
    });
    document.addEventListener("keydown", (e) => {
      const picker = $(".reaction-picker");
      if (e.key === "Escape" && picker) {
        e.preventDefault();
        closePicker(picker, true);
      }
    });
  }

  /* ---------------------------------------------------------------- channel and member */

  function channelActivity(data) {
    const notice = $("#channel-new");
    if (notice) {
      const link = $("a", notice);
      if (link) link.setAttribute("href", here());
      if (notice.hidden) announce("New activity in this channel");
      notice.hidden = false;
    }
    const row = data && data.thread_id != null && $(`#thread-list li[data-thread="${Number(data.thread_id)}"]`);
    if (row && !$(".unread-dot", row)) {
      const box = row.firstElementChild || row;
      box.prepend(el("span", { class: "unread-dot", "aria-hidden": "true" }),
        el("span", { class: "visually-hidden" }, "New replies: "));
    }
  }

  function setUnread(unread) {
    const n = Number(unread);
    const badge = $("header.site .badge[data-unread]");
    if (!badge || !Number.isFinite(n)) return;
    badge.dataset.unread = String(n);
    badge.textContent = String(n);
    badge.hidden = n <= 0;
    const link = badge.closest("a");
    if (link) link.setAttribute("aria-label", n > 0 ? `Notifications, ${n} unread` : "Notifications");
  }

  function setReviewOpen(open) {
    const n = Number(open);
    const badge = $("header.site .badge[data-review-open]");
    if (!badge || !Number.isFinite(n)) return;
    const before = Number(badge.dataset.reviewOpen || 0);
    badge.dataset.reviewOpen = String(n);
    badge.textContent = String(n);
    badge.hidden = n <= 0;
    const link = badge.closest("a");
    if (link) link.setAttribute("aria-label", n > 0 ? `Review, ${n} open` : "Review");
    if (n > before) announce(n === 1 ? "1 item waits for review" : `${n} items wait for review`);
  }

  function apply(event) {
    const data = event.data || {};
    const kind = event.kind || "";
    const [scope] = event.topic.split(":");
    if (scope === "thread") {
      if (kind === "decision.updated") decisionUpdated(data);
      else if (kind === "post.created") insertPost(event.html, data, event.can);
      else if (kind === "post.reactions") reactionFrame(data);
      else if (kind.startsWith("post.")) replacePost(event.html, data, event.can);
      else threadChanged();  // locked, pinned, slow mode, statement amended
    } else if (scope === "channel") {
      if (kind === "thread.created" || kind === "thread.activity") channelActivity(data);
    } else if (scope === "member") {
      if (data.unread != null) setUnread(data.unread); // notification.created and friends
      if (kind === "notification.created") announce("You have a new notification");
      if (kind === "review.changed") setReviewOpen(data.review_open);
    } else if (scope === "case") {
      caseChanged(event.topic.split(":")[1]);
    }
  }

  /* A confidential case changed: the frame carries no text, so fetch the timeline and the
     actions this reader may take (the server decides both) and swap them in; the live region
     announces the newest step. */
  let caseFetch = null;
  function caseChanged(id) {
    const box = document.getElementById("case-live");
    if (!box || box.dataset.case !== id) return;
    if (caseFetch) caseFetch.abort();
    caseFetch = new AbortController();
    fetch(`/reports/${id}/live`, { credentials: "same-origin", signal: caseFetch.signal })
      .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
      .then((html) => {
        const doc = new DOMParser().parseFromString(html, "text/html");
        const fresh = doc.getElementById("case-live");
        if (!fresh) return;
        box.innerHTML = fresh.innerHTML;
        const said = document.getElementById("case-said");
        const last = $("#case-live .timeline > li:last-child .entry-label");
        if (said && last) said.textContent = `Update: ${last.textContent}`;
      })
      .catch(() => { /* the next event or a reload brings it */ });
  }

  /* ---------------------------------------------------------------- the socket */

  const seqs = new Map(); // topic -> last seq seen
  for (const pair of (body.dataset.topics || "").split(/\s+/)) {
    const at = pair.lastIndexOf("=");
    if (at > 0) seqs.set(pair.slice(0, at), Number(pair.slice(at + 1)) || 0);
  }

  const status = $("#live-status");
  let socket = null;
  let delay = 500;
  let retryTimer = null;
  let statusTimer = null;
  let held = false;
  let pageGone = false;
  let lastHeard = Date.now();

  function showOffline(offline) {
    clearTimeout(statusTimer);
    if (!status) return;
    if (!offline) {
      status.hidden = true;
      status.textContent = "";
      return;
    }
    statusTimer = setTimeout(() => { // not for a blink of a reconnect
      status.textContent = "Offline: reconnecting…";
      status.hidden = false;
    }, 1000);
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (held || !seqs.size || (socket && socket.readyState <= WebSocket.OPEN)) return;
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    socket = ws;
    ws.addEventListener("open", () => {
      lastHeard = Date.now();
      showOffline(false);
      for (const [topic, after] of seqs) send({ op: "subscribe", topic, after });
    });
    ws.addEventListener("message", (msg) => {
      lastHeard = Date.now();
      let frame;
      try { frame = JSON.parse(msg.data); } catch { return; }
      if (frame.op) return control(frame);
      if (!frame.topic || typeof frame.seq !== "number") return;
      if (frame.seq <= (seqs.get(frame.topic) ?? 0)) return; // a duplicate
      seqs.set(frame.topic, frame.seq);
      try { apply(frame); } catch (err) { console.error("forum live:", err); }
    });
    ws.addEventListener("close", (e) => {
      if (socket !== ws) return;
      socket = null;
      if (pageGone) return;
      if (e.code === 4001) return reload(); // the session ended: the page shows someone else
      if (e.code === 4003) { // suspended: signing in tells them why, until when, how to appeal
        location.assign(`/login?ended=suspended&next=${encodeURIComponent(here())}`);
        return;
      }
      showOffline(true);
      if (!held) retry();
    });
  }

  function retry() {
    if (retryTimer) return;
    const wait = delay * (0.75 + Math.random() * 0.5); // jitter: not every tab at once
    delay = Math.min(delay * 2, 15000);
    retryTimer = setTimeout(connect, wait);
  }

  /* The server says the page is out of date: reload, but never in a loop. */
  function reload() {
    let recent = 0;
    try { recent = Number(sessionStorage.getItem("live-reload")) || 0; } catch { /* storage off */ }
    if (Date.now() - recent < 10000) return threadChanged("This page is out of date");
    try { sessionStorage.setItem("live-reload", String(Date.now())); } catch { /* storage off */ }
    location.reload();
  }

  function control(frame) {
    switch (frame.op) {
      case "ping": send({ op: "pong" }); break;
      case "subscribed": delay = 500; break;
      case "reset": case "revoked": reload(); break;
      case "error": console.warn("forum live:", frame.code, frame.message); break;
      default: break;
    }
  }

  // Heartbeat: the server pings every ~30 s; a socket silent for much longer is dead. A
  // half-closed connection may never deliver its "close" event, so it is dropped here: the
  // reader is told at once that they are offline, and a fresh socket is tried.
  setInterval(() => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastHeard > 75000) abandon(socket);
    else send({ op: "ping" });
  }, 25000);

  function abandon(ws) {
    if (socket !== ws) return;
    socket = null;
    try { ws.close(); } catch { /* already closing */ }
    showOffline(true);
    if (!held) retry();
  }

  window.addEventListener("pagehide", () => {
    pageGone = true;
    if (socket) socket.close(1000);
  });
  window.addEventListener("pageshow", (e) => {
    pageGone = false;
    if (e.persisted) connect();
  });
  window.addEventListener("online", () => { delay = 500; connect(); });

  window.forumLive = {
    get socket() { return socket; },
    seqs,
    hold() { held = true; clearTimeout(retryTimer); retryTimer = null; if (socket) socket.close(); },
    resume() { held = false; delay = 500; connect(); },
  };

  /* ---------------------------------------------------------------- drafts */

  function clearSentDraft() {
    let sent = null;
    try { sent = sessionStorage.getItem("draft-sent"); sessionStorage.removeItem("draft-sent"); } catch { return; }
    if (!sent) return;
    const form = $$("form[data-draft]").find((f) => f.dataset.draft === sent);
    const failed = (form && $(".error", form)) || $('[role="alert"]');
    if (!failed) {
      try { localStorage.removeItem(`draft:${sent}`); } catch { /* storage off */ }
    }
  }

  /* The server keeps a signed-in member's draft too, so it follows them to another device.
     Best effort: a failed save leaves the local copy, and the form still posts without it. */
  function saveOnServer(form, body) {
    const thread = form.dataset.thread;
    const csrf = document.body.dataset.csrf;
    if (!thread || !document.body.dataset.me || !csrf) return;
    const payload = { body };
    if (form.dataset.parent) payload.parent_id = Number(form.dataset.parent);
    fetch(`/api/v1/threads/${encodeURIComponent(thread)}/draft`, {
      method: "PUT",
      headers: { "content-type": "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(payload),
      credentials: "same-origin",
    }).catch(() => { /* offline: the local draft stays */ });
  }

  let serverDrafts = null;
  function draftsOf(thread) {
    if (!serverDrafts) {
      serverDrafts = fetch(`/api/v1/threads/${encodeURIComponent(thread)}/drafts`, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.json() : { drafts: [] }))
        .then((data) => new Map((data.drafts || []).map((d) => [String(d.parent_id || 0), d.body])))
        .catch(() => new Map());
    }
    return serverDrafts;
  }

  /* ---------------------------------------------------------------- replying in place */

  // "Reply" under a post opens a composer right there (the separate reply page stays for
  // pages without the script). It posts the same form, so the result is the same page.
  const threadForm = $(".reply-box form[data-thread]");

  function closeComposer(box) {
    const link = box.previousElementSibling && $("a[data-reply]", box.previousElementSibling);
    box.remove();
    if (link) link.focus();
  }

  async function openComposer(link) {
    const pid = link.dataset.reply;
    const li = document.getElementById(`p${pid}`);
    if (!threadForm || !li) return false;
    const article = $("article.post-body", li);
    const open = article.nextElementSibling;
    if (open && open.classList.contains("inline-reply")) { $("textarea", open).focus(); return true; }
    const box = el("section", { class: "inline-reply reply-box", "aria-label": `Reply to ${$(".author", li).textContent.trim()}` });
    const form = threadForm.cloneNode(true);
    form.dataset.draft = `post-${pid}`;
    form.dataset.parent = pid;
    for (const note of $$(".draft-note, .error", form)) note.remove();
    const parent = el("input", { type: "hidden", name: "parent_id", value: pid });
    form.prepend(parent);
    const keyInput = $('input[name="key"]', form);
    if (keyInput) keyInput.value = "";
    const text = $("textarea", form);
    text.id = `body-${pid}`;
    text.value = "";
    const label = $("label", form);
    if (label) { label.setAttribute("for", text.id); label.textContent = "Your reply"; }
    const buttons = $("div:last-child", form);
    const cancel = el("button", { type: "button", class: "secondary" }, "Cancel");
    cancel.addEventListener("click", () => closeComposer(box));
    if (buttons) buttons.append(" ", cancel);
    box.append(form);
    article.after(box);
    const kept = (await draftsOf(threadForm.dataset.thread)).get(String(pid));
    if (kept && !text.value) text.value = kept;
    draftForm(form);
    text.focus();
    return true;
  }

  document.addEventListener("click", (e) => {
    const link = e.target.closest && e.target.closest("a[data-reply]");
    if (!link || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    if (!threadForm) return; // not on a thread page (or may not reply): follow the link
    e.preventDefault();
    openComposer(link);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      const box = e.target.closest && e.target.closest(".inline-reply");
      if (box) closeComposer(box);
    }
  });

  /* ---------------------------------------------------------------- keyboard */

  // j / k: next and previous post; r: reply to the post in focus (or the thread); ?: help.
  // Never inside a text field, and never with a modifier (browser and screen-reader keys).
  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']");
  }

  function posts() { return $$("li.post > article.post-body"); }

  function focusPost(step) {
    const all = posts();
    if (!all.length) return;
    const current = document.activeElement && document.activeElement.closest("li.post > article.post-body");
    let index = current ? all.indexOf(current) + step : (step > 0 ? 0 : all.length - 1);
    index = Math.max(0, Math.min(all.length - 1, index));
    const target = all[index];
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus();
    target.scrollIntoView({ block: "nearest" });
  }

  const help = $("#shortcuts");
  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || typing(e.target)) return;
    if (e.key === "?" && help) { e.preventDefault(); if (help.open) help.close(); else help.showModal(); return; }
    if (!posts().length) return;
    if (e.key === "j") { e.preventDefault(); focusPost(1); }
    else if (e.key === "k") { e.preventDefault(); focusPost(-1); }
    else if (e.key === "r") {
      const current = document.activeElement && document.activeElement.closest("li.post");
      const link = current && $(":scope > article a[data-reply]", current);
      e.preventDefault();
      if (link) openComposer(link);
      else { const text = threadForm && $("textarea", threadForm); if (text) text.focus(); }
    }
  });

  function randomKey() {
    if (crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function draftForm(form) {
    const name = form.dataset.draft;
    const key = `draft:${name}`;
    const text = $("textarea", form);
    if (!text) return;
    const save = () => {
      try {
        if (text.value.trim()) localStorage.setItem(key, text.value);
        else localStorage.removeItem(key);
      } catch { /* storage full or off: the server still has the form */ }
    };
    let saved = null;
    try { saved = localStorage.getItem(key); } catch { /* storage off */ }
    if (!text.value.trim() && saved) {
      text.value = saved;
      const note = el("p", { class: "hint draft-note" }, "Your unsent draft was restored. ");
      const discard = el("button", { type: "button", class: "link" }, "Discard it");
      discard.addEventListener("click", () => { text.value = ""; save(); note.remove(); text.focus(); });
      note.append(discard);
      text.after(note);
    }
    let timer = null;
    let serverTimer = null;
    text.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(save, 300);
      clearTimeout(serverTimer);
      serverTimer = setTimeout(() => saveOnServer(form, text.value), 1500);
    });
    form.addEventListener("submit", () => {
      clearTimeout(timer);
      clearTimeout(serverTimer); // posting the reply forgets its draft on the server
      save();
      const keyInput = $('input[name="key"]', form);
      if (keyInput && !keyInput.value) keyInput.value = randomKey();
      try { sessionStorage.setItem("draft-sent", name); } catch { /* storage off */ }
      const buttons = $$('button[type="submit"], button:not([type])', form);
      setTimeout(() => { for (const b of buttons) b.disabled = true; }, 0); // after the form data is taken
      setTimeout(() => { for (const b of buttons) b.disabled = false; }, 10000); // a stalled network
    });
  }

  clearSentDraft();

  /* ---------------------------------------------------------------- confirmations */

  // After a form (posted, flagged, hidden...) the page carries a status message. Focus moves
  // to it so a screen reader reads it, unless the page was opened at a post (a new reply):
  // then focus goes to that post and the message is announced.
  const notice = $("#page-notice");
  if (notice) {
    const target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
    if (target) {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus({ preventScroll: false });
      announce(notice.textContent.trim());
    } else {
      notice.focus();
    }
  }
  $$("form[data-draft]").forEach(draftForm);

  /* ---------------------------------------------------------------- copy buttons */

  // A read-only link (or list of links) with a Copy button: the button shows only with this
  // script; without it the field is there to select. The clipboard API needs a secure context
  // (https or localhost); elsewhere, or when refused, the text is selected for Ctrl+C.
  for (const button of $$("button[data-copy]")) {
    const field = $(button.dataset.copy);
    if (!field) continue;
    button.hidden = false;
    const label = button.firstChild;
    button.addEventListener("click", async () => {
      field.focus();
      field.select();
      let said = "Selected: press Ctrl+C (or ⌘C) to copy";
      try {
        if (navigator.clipboard && window.isSecureContext) {
          await navigator.clipboard.writeText(field.value);
          said = "Copied";
        }
      } catch { /* permission refused: the selection stays */ }
      label.textContent = said === "Copied" ? "Copied" : "Selected";
      button.dataset.copied = said === "Copied" ? "yes" : "selected";
      announce(said + ".");
      setTimeout(() => { label.textContent = "Copy"; }, 3000);
    });
  }
  window.addEventListener("pageshow", () => {
    for (const b of $$("form[data-draft] button[disabled]")) b.disabled = false;
  });

  connect();
})();
