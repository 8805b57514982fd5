// The studio's pages: play, edit, pronounce, take, rebuild (with streamed progress), approve.
// Plain JavaScript, served by the studio itself; every request carries the studio's cookie.
"use strict";

(function () {
  if (location.search.includes("token=")) {
    // The token has set the cookie: keep it out of the address bar and the history.
    history.replaceState(null, "", location.pathname + location.hash);
  }
  const main = document.getElementById("main");
  const label = main.dataset.label || "";
  const player = document.getElementById("sentence-player");
  const episodePlayer = document.getElementById("episode-player");
  const statusLine = document.getElementById("status");
  let pronouncing = null;  // the sentence the pronunciation panel works on

  function say(message, kind) {
    statusLine.textContent = message;
    statusLine.className = "status " + (kind || "");
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({error: response.status + " " + response.statusText}));
    if (!response.ok) {
      const failure = new Error(data.error || response.statusText);
      failure.status = response.status;
      failure.data = data;
      throw failure;
    }
    return data;
  }

  function sentenceUrl(index, action) {
    return "/api/episode/" + label + "/sentence/" + index + "/" + action;
  }

  function play(url) {
    player.src = url;
    player.dataset.playing = url;
    return player.play().catch(error => say("cannot play: " + error.message, "error"));
  }

  async function playSentence(item) {
    if (!item.dataset.audio) {
      say("speaking…");
      const spoken = await post(sentenceUrl(item.dataset.index, "speak"));
      item.dataset.key = spoken.key;
      item.dataset.audio = "/audio/sentence/" + spoken.key + ".wav";
      say("");
    }
    return play(item.dataset.audio);
  }

  function playInEpisode(item) {
    const start = parseFloat(item.dataset.start), end = parseFloat(item.dataset.end);
    if (!episodePlayer || isNaN(start)) return;
    episodePlayer.currentTime = start;
    const stop = () => {
      if (episodePlayer.currentTime >= end) {
        episodePlayer.pause();
        episodePlayer.removeEventListener("timeupdate", stop);
      }
    };
    episodePlayer.addEventListener("timeupdate", stop);
    episodePlayer.play().catch(error => say("cannot play: " + error.message, "error"));
  }

  function markStale(why) {
    const status = document.getElementById("episode-status");
    if (status) {
      status.textContent = "stale: " + why;
      status.className = "stale";
    }
    const approved = document.getElementById("approved");
    if (approved) approved.textContent = "approval will not hold for the rebuilt audio";
  }

  // -- editing ------------------------------------------------------------------------------

  function openEditor(item) {
    if (item.querySelector("form.editor")) return;
    const form = document.createElement("form");
    form.className = "editor";
    const area = document.createElement("textarea");
    area.value = item.dataset.source;
    area.rows = 3;
    area.setAttribute("aria-label", "Sentence " + (+item.dataset.index + 1));
    const save = document.createElement("button");
    save.type = "submit";
    save.textContent = "Save and hear it";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", () => form.remove());
    form.append(area, save, cancel);
    form.addEventListener("submit", event => {
      event.preventDefault();
      saveEdit(item, {text: area.value, version: main.dataset.version}, "edit", form);
    });
    item.querySelector(".tools").after(form);
    area.focus();
  }

  async function saveEdit(item, body, action, form) {
    say("saving…");
    try {
      const report = await post(sentenceUrl(item.dataset.index, action), body);
      applyEdit(item, report);
      if (form) form.remove();
    } catch (error) {
      if (error.status === 409 && error.data && "disk" in error.data) {
        showConflict(item, error.data, body, action, form);
      }
      say(error.message, "error");
    }
  }

  function applyEdit(item, report) {
    main.dataset.version = report.version;
    if (report.count_changed) {
      say("saved; the sentences changed: reading them again");
      location.reload();
      return;
    }
    const sentence = report.sentences[0];
    item.querySelector(".text").textContent = sentence.written;
    item.dataset.source = report.after;
    item.dataset.key = sentence.key;
    item.dataset.audio = sentence.key ? "/audio/sentence/" + sentence.key + ".wav" : "";
    item.dataset.start = item.dataset.end = "";
    item.querySelector("[data-action=play-in-episode]").disabled = true;
    item.classList.add("edited");
    const heard = item.querySelector(".heard");
    if (heard) heard.remove();
    markStale("changed: spoken text");
    say("saved: " + sentence.written + (sentence.synthesized ? " (spoken now)" : " (from the cache)"));
    if (item.dataset.audio) play(item.dataset.audio);
    refreshEstimate().catch(() => {});
  }

  function showConflict(item, data, body, action, form) {
    const box = document.createElement("div");
    box.className = "conflict";
    box.setAttribute("role", "alert");
    const heading = document.createElement("p");
    heading.textContent = "The script changed on disk since this page read it. Nothing was written.";
    const disk = document.createElement("pre");
    disk.className = "disk";
    disk.textContent = data.disk === null ? "(this sentence is not found any more)" : data.disk;
    const yours = document.createElement("pre");
    yours.className = "yours";
    yours.textContent = data.yours;
    const mine = document.createElement("button");
    mine.type = "button";
    mine.textContent = "Save mine over it";
    mine.addEventListener("click", () => {
      box.remove();
      saveEdit(item, {...body, version: data.version}, action, form);
    });
    const theirs = document.createElement("button");
    theirs.type = "button";
    theirs.textContent = "Keep the file's version";
    theirs.addEventListener("click", () => location.reload());
    const onDisk = document.createElement("p");
    onDisk.textContent = "On disk now:";
    const mineLabel = document.createElement("p");
    mineLabel.textContent = "Yours:";
    box.append(heading, onDisk, disk, mineLabel, yours, mine, theirs);
    (form || item.querySelector(".tools")).after(box);
  }

  // -- pronunciation ------------------------------------------------------------------------

  function openPronounce(item, word) {
    if (pronouncing) pronouncing.classList.remove("pronouncing");
    pronouncing = item;
    item.classList.add("pronouncing");
    const panel = document.getElementById("pronounce");
    panel.hidden = false;
    document.getElementById("pronounce-sentence").textContent = +item.dataset.index + 1;
    document.getElementById("pronounce-text").textContent = item.querySelector(".text").textContent;
    if (word) document.getElementById("pronounce-word").value = word;
    document.getElementById("pronounce-reading").textContent = "";
    document.getElementById("affected").textContent = "";
    (word ? document.getElementById("pronounce-say") : document.getElementById("pronounce-word")).focus();
  }

  function entry() {
    return {
      word: document.getElementById("pronounce-word").value,
      say: document.getElementById("pronounce-say").value,
      match_case: document.getElementById("pronounce-case").checked,
    };
  }

  function showAffected(affected, saved) {
    const box = document.getElementById("affected");
    box.textContent = "";
    const heading = document.createElement("p");
    heading.textContent = affected.length + " sentence" + (affected.length === 1 ? "" : "s") + " in the project " +
      (saved ? "now read differently" : "would read differently") + ":";
    const list = document.createElement("ul");
    list.className = "affected";
    for (const change of affected) {
      const item = document.createElement("li");
      item.textContent = change.label + (change.line ? ", line " + change.line : " (disclosure)") + ": " + change.after;
      list.append(item);
    }
    box.append(heading, list);
    if (saved && affected.length) {
      const labels = [...new Set(affected.map(change => change.label))];
      const rebuild = document.createElement("button");
      rebuild.type = "button";
      rebuild.dataset.action = "rebuild-affected";
      rebuild.dataset.targets = JSON.stringify(labels.some(l => l.endsWith("/*")) ? [] : labels);
      rebuild.textContent = "Rebuild " + (labels.some(l => l.endsWith("/*")) ? "everything stale" :
        labels.length + " episode" + (labels.length === 1 ? "" : "s"));
      box.append(rebuild);
    }
  }

  async function audition() {
    say("listening…");
    try {
      const heard = await post(sentenceUrl(pronouncing.dataset.index, "audition"), entry());
      document.getElementById("pronounce-reading").textContent =
        "reads: " + heard.spoken + (heard.phonemes ? "  ·  phonemes: " + heard.phonemes : "");
      showAffected(heard.affected, false);
      say("");
      play("/audio/sentence/" + heard.key + ".wav");
    } catch (error) {
      say(error.message, "error");
    }
  }

  async function saveEntry() {
    try {
      const saved = await post("/api/lexicon", entry());
      showAffected(saved.affected, true);
      markStale("changed: spoken text");
      say("saved to the lexicon");
    } catch (error) {
      say(error.message, "error");
    }
  }

  // -- takes --------------------------------------------------------------------------------

  async function anotherTake(item) {
    say("speaking another take…");
    try {
      const take = await post(sentenceUrl(item.dataset.index, "take"));
      let list = item.querySelector("ul.takes");
      if (!list) {
        list = document.createElement("ul");
        list.className = "takes";
        item.append(list);
      }
      list.textContent = "";
      for (const known of take.takes) {
        const row = document.createElement("li");
        row.dataset.take = known.take;
        row.dataset.key = known.key;
        row.classList.toggle("in-use", known.take === take.in_use);
        row.textContent = "take " + (known.take + 1) + " ";
        for (const [action, text] of [["play-take", "Play"], ["pick", "Use"]]) {
          const button = document.createElement("button");
          button.type = "button";
          button.dataset.action = action;
          button.textContent = text;
          row.append(button, " ");
        }
        list.append(row);
      }
      say("take " + (take.take + 1) + " spoken");
      play("/audio/sentence/" + take.key + ".wav");
    } catch (error) {
      say(error.message, "error");
    }
  }

  async function pick(item, take) {
    try {
      const picked = await post(sentenceUrl(item.dataset.index, "pick"), {take: take});
      for (const row of item.querySelectorAll("ul.takes li")) {
        row.classList.toggle("in-use", +row.dataset.take === take);
      }
      item.dataset.key = picked.key;
      item.dataset.audio = "/audio/sentence/" + picked.key + ".wav";
      markStale("changed: takes");
      say("take " + (take + 1) + " will be used: rebuild to hear it in the episode");
    } catch (error) {
      say(error.message, "error");
    }
  }

  // -- building -----------------------------------------------------------------------------

  function describe(event) {
    switch (event.event) {
      case "planned": return event.todo + " of " + event.total + " episodes need work";
      case "progress": return event.label + ": " + event.message;
      case "finished": return event.label + ": " + event.status + (event.detail ? " (" + event.detail + ")" : "");
      case "notice": return event.message;
      case "done": return event.failed ? "failed: " + (event.errors || []).concat(event.gates || []).join("; ")
                                        : "done";
      default: return JSON.stringify(event);
    }
  }

  async function build(targets) {
    const section = document.getElementById("build");
    const log = document.getElementById("build-log");
    section.hidden = false;
    log.textContent = "";
    try {
      await post("/api/build", {targets: targets});
    } catch (error) {
      say(error.message, "error");
      const line = document.createElement("li");
      line.textContent = error.message;
      log.append(line);
      return;
    }
    say("building…");
    const events = new EventSource("/api/build/events");
    events.onmessage = message => {
      const event = JSON.parse(message.data);
      const line = document.createElement("li");
      line.className = event.event;
      line.textContent = describe(event);
      log.append(line);
      if (event.event === "done") {
        events.close();
        say(event.failed ? "the build failed" : "built", event.failed ? "error" : "");
        const refreshed = label ? refreshEpisode() : refreshIndex();
        refreshed.catch(error => say(error.message, "error"))
          .finally(() => { section.dataset.done = event.failed ? "failed" : "ok"; });
      }
    };
  }

  async function refreshEpisode() {
    // The page as the build left it: the new MP3 in the player, each sentence's place in it.
    const response = await fetch("/episode/" + label + ".json", {credentials: "same-origin"});
    const data = await response.json();
    const status = document.getElementById("episode-status");
    status.textContent = data.status + (data.status === "stale" ? ": " + data.reason : "");
    status.className = data.status;
    if (episodePlayer && data.audio && !episodePlayer.src.endsWith(data.audio)) episodePlayer.src = data.audio;
    main.dataset.version = data.version;
    for (const sentence of data.sentences) {
      const item = document.getElementById("sentence-" + sentence.index);
      if (!item) continue;
      item.dataset.key = sentence.key || "";
      item.dataset.audio = sentence.audio || "";
      item.dataset.start = sentence.start_s === null ? "" : sentence.start_s;
      item.dataset.end = sentence.end_s === null ? "" : sentence.end_s;
      item.querySelector("[data-action=play-in-episode]").disabled = sentence.start_s === null;
    }
    const approve = document.querySelector("button[data-action=approve]");
    if (approve) approve.disabled = !data.approvable;
    showEstimate(data.estimate);
  }

  function showEstimate(estimate) {
    const line = document.getElementById("estimate");
    if (!line || !estimate) return;
    line.textContent = estimate.text;
    line.classList.toggle("warning", !estimate.in_window);
  }

  async function refreshEstimate() {
    // An edit changes the words: the page's estimate follows (the rest waits for a rebuild).
    const response = await fetch("/episode/" + label + ".json", {credentials: "same-origin"});
    if (response.ok) showEstimate((await response.json()).estimate);
  }

  async function refreshIndex() {
    const data = await (await fetch("/index.json", {credentials: "same-origin"})).json();
    for (const series of data.series) {
      for (const row of series.episodes) {
        const line = document.querySelector(`tr[data-label="${row.label}"]`);
        if (!line) continue;
        line.className = row.status + (row.approved ? " approved" : "");
        line.children[2].textContent = row.status + (row.status === "stale" ? ": " + row.reason : "");
        line.children[3].textContent = row.approved ? "approved" : "";
        line.children[4].textContent = row.estimate ? row.estimate.words : "-";
        line.children[5].textContent = row.time;
      }
    }
  }

  async function approve(withdraw) {
    try {
      await post("/api/episode/" + label + "/" + (withdraw ? "withdraw" : "approve"));
      location.reload();
    } catch (error) {
      say(error.message, "error");
    }
  }

  // -- wiring -------------------------------------------------------------------------------

  document.addEventListener("click", event => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const item = button.closest("li.sentence");
    const take = button.closest("li[data-take]");
    const action = button.dataset.action;
    const run = {
      "play": () => playSentence(item),
      "play-in-episode": () => playInEpisode(item),
      "edit": () => openEditor(item),
      "pronounce": () => openPronounce(item, ""),
      "take": () => anotherTake(item),
      "play-take": () => play("/audio/sentence/" + take.dataset.key + ".wav"),
      "pick": () => pick(item, +take.dataset.take),
      "audition": () => audition(),
      "save-entry": () => saveEntry(),
      "mark": () => saveEdit(pronouncing, {...entry(), version: main.dataset.version}, "mark", null),
      "close-pronounce": () => {
        document.getElementById("pronounce").hidden = true;
        if (pronouncing) pronouncing.classList.remove("pronouncing");
      },
      "rebuild": () => build([label]),
      "rebuild-affected": () => build(JSON.parse(button.dataset.targets)),
      "build-all": () => build([]),
      "approve": () => approve(false),
      "withdraw": () => approve(true),
    }[action];
    if (run) Promise.resolve(run()).catch(error => say(error.message, "error"));
  });

  document.addEventListener("mouseup", () => {
    const selection = window.getSelection();
    const text = selection ? selection.toString().trim() : "";
    if (!text || text.includes("\n") || text.split(/\s+/).length > 4) return;
    const node = selection.anchorNode && selection.anchorNode.parentElement;
    const item = node && node.closest(".sentence .text") && node.closest("li.sentence");
    if (item && item.dataset.source) openPronounce(item, text);
  });
})();
