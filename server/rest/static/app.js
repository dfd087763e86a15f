// The live page: posts the form to /process-stream and draws each NDJSON event as it arrives.
// Every piece of text from the user or the server goes into the DOM as text (textContent,
// append(string)), never as markup.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const STAGE_NAMES = {
    chunking: "Chunking",
    sentiment: "Sentiment",
    summarization: "Summary",
    entities: "Entities",
  };
  // Light tints that keep dark text readable; the label is also written after each entity.
  const ENTITY_COLOURS = [
    "#d0ebff", "#ffe8cc", "#d3f9d8", "#ffe3e3", "#e5dbff",
    "#fff3bf", "#c5f6fa", "#ffdeeb", "#e9fac8", "#e9ecef",
  ];

  const form = $("form");
  const textBox = $("text");
  const analyzeButton = $("analyze");
  const stopButton = $("stop");
  let controller = null;
  let run = null;

  // ---- small DOM helpers -------------------------------------------------------------------

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, String(value));
    }
    node.append(...children); // strings become text nodes
    return node;
  }

  function show(node, text) {
    node.textContent = text;
    node.hidden = !text;
  }

  function setStatus(text, state) {
    const status = $("status");
    status.textContent = text;
    status.dataset.state = state;
  }

  function seconds(value) {
    return typeof value === "number" ? value.toFixed(3) : "";
  }

  // ---- the form ----------------------------------------------------------------------------

  function updateCount() {
    $("count").textContent = String(Array.from(textBox.value).length);
  }

  async function loadFile(file) {
    if (!file) return;
    textBox.value = await file.text();
    updateCount();
    setStatus(`Loaded ${file.name}.`, "idle");
    textBox.focus();
  }

  textBox.addEventListener("input", updateCount);
  textBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  textBox.addEventListener("dragover", (event) => {
    event.preventDefault();
    textBox.classList.add("dropping");
  });
  textBox.addEventListener("dragleave", () => textBox.classList.remove("dropping"));
  textBox.addEventListener("drop", (event) => {
    event.preventDefault();
    textBox.classList.remove("dropping");
    loadFile(event.dataTransfer.files[0]);
  });
  $("file").addEventListener("change", (event) => loadFile(event.target.files[0]));
  stopButton.addEventListener("click", () => controller && controller.abort());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    analyze();
  });

  // The server's bounds are in its OpenAPI document; use them as hints (it still checks).
  fetch("/openapi.json")
    .then((response) => (response.ok ? response.json() : null))
    .then((schema) => {
      const fields = schema && schema.components.schemas.ProcessRequest.properties;
      if (!fields) return;
      const chunk = $("chunk_size");
      chunk.min = fields.chunk_size.minimum;
      chunk.max = fields.chunk_size.maximum;
      chunk.value = fields.chunk_size.default;
      $("limit").textContent = ` of ${fields.text.minLength} to ${fields.text.maxLength}`;
    })
    .catch(() => {});

  // ---- one analysis ------------------------------------------------------------------------

  function clearErrors() {
    for (const node of document.querySelectorAll(".field-error, .stage-error, #request-error")) {
      show(node, "");
    }
    for (const node of document.querySelectorAll("[aria-invalid]")) {
      node.removeAttribute("aria-invalid");
    }
  }

  function reset(text) {
    clearErrors();
    run = {
      chars: Array.from(text), // offsets from the server count code points, as this does
      spans: [],
      labels: [],
      entities: [],
      colours: new Map(),
      stageStart: {},
      stages: [],
      completed: false,
    };
    $("progress").replaceChildren();
    setProgress(0, 1, "Not started");
    $("progress-text").textContent = "Waiting for the chunks…";
    show($("overall"), "");
    $("summary").textContent = "";
    show($("summary-note"), "");
    $("legend").replaceChildren();
    $("timings").replaceChildren();
    renderDocument();
  }

  async function analyze() {
    const text = textBox.value;
    const body = {
      text,
      include_sentiment: $("include_sentiment").checked,
      include_summary: $("include_summary").checked,
      include_entities: $("include_entities").checked,
      chunk_size: Number($("chunk_size").value),
    };
    const headers = { "Content-Type": "application/json" };
    const token = $("token").value.trim();
    if (token) headers.Authorization = `Bearer ${token}`;

    reset(text);
    controller = new AbortController();
    analyzeButton.disabled = true;
    stopButton.disabled = false;
    setStatus("Sending…", "running");
    try {
      const response = await fetch("/process-stream", {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      if (!response.ok) {
        await refused(response);
        return;
      }
      for await (const event of ndjson(response.body)) handle(event);
      if (!run.completed && $("status").dataset.state === "running") {
        setStatus("The stream ended before it completed.", "error");
      }
    } catch (error) {
      if (error.name === "AbortError") {
        setStatus("Stopped; the server cancelled the rest of the work.", "stopped");
      } else {
        setStatus(`The connection failed: ${error.message}`, "error");
      }
    } finally {
      controller = null;
      analyzeButton.disabled = false;
      stopButton.disabled = true;
    }
  }

  // NDJSON over fetch: a line may arrive in pieces, or several in one read.
  async function* ndjson(stream) {
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) yield JSON.parse(line);
      }
    }
    buffer += decoder.decode();
    if (buffer.trim()) yield JSON.parse(buffer);
  }

  async function refused(response) {
    let body = {};
    try {
      body = await response.json();
    } catch (error) {
      // Not JSON: the status line alone says enough.
    }
    const retry = response.headers.get("Retry-After");
    if (response.status === 422 && Array.isArray(body.detail)) {
      const lines = [];
      for (const item of body.detail) {
        const field = Array.isArray(item.loc) ? String(item.loc[item.loc.length > 1 ? 1 : 0]) : "";
        const input = $(field);
        const slot = $(`${field}-error`);
        if (input && slot) {
          input.setAttribute("aria-invalid", "true");
          show(slot, item.msg);
        }
        lines.push(field ? `${field}: ${item.msg}` : item.msg);
      }
      show($("request-error"), `Please fix: ${lines.join("; ")}`);
      setStatus("The server rejected the request.", "error");
      return;
    }
    const detail = typeof body.detail === "string" ? body.detail : response.statusText;
    const later = retry ? ` Try again in ${retry} s.` : "";
    show($("request-error"), `${response.status}: ${detail}.${later}`);
    setStatus("The server could not take the request.", "error");
  }

  // ---- drawing the events ------------------------------------------------------------------

  function handle(event) {
    if (event.message) setStatus(event.message, "running");
    const status = event.status;
    const stage = status.replace(/_(processing|progress|complete|skipped|error)$/, "");
    if (status === "started") {
      run.stages = event.stages;
      for (const name of event.stages) timingRow(name, "waiting");
      if (!event.stages.includes("summarization")) show($("summary-note"), "Not requested.");
      if (!event.stages.includes("entities")) {
        $("legend").replaceChildren(el("li", {}, "Entities were not requested."));
      }
    } else if (status === "chunking" || status.endsWith("_processing")) {
      run.stageStart[stage] = event.elapsed_seconds;
      timingRow(stage, "running");
    } else if (status === "chunked") {
      chunked(event.spans);
      timingRow("chunking", "done", event.elapsed_seconds - (run.stageStart.chunking || 0));
    } else if (status === "sentiment_progress") {
      chunkDone(event.chunk_result, event.chunk_count);
    } else if (status === "sentiment_complete") {
      show($("overall"), `Overall: ${event.overall_sentiment} (${event.positive_chunks} positive, `
        + `${event.neutral_chunks} neutral, ${event.negative_chunks} negative chunks)`);
      $("overall").dataset.sentiment = event.overall_sentiment;
      stageDone(stage, event);
    } else if (status === "summarization_progress") {
      $("summary").textContent = event.summary;
    } else if (status === "summarization_complete") {
      $("summary").textContent = event.summary;
      show($("summary-note"), `${Math.round(event.compression_ratio * 100)}% of the text's length.`);
      stageDone(stage, event);
    } else if (status === "summarization_skipped") {
      show($("summary-note"), `Skipped: ${event.reason}.`);
      timingRow("summarization", "skipped");
    } else if (status === "entities_complete") {
      entitiesFound(event.entities);
      stageDone(stage, event);
    } else if (status.endsWith("_error")) {
      show($(`${stage}-error`) || $("request-error"), `Failed: ${event.error}`);
      timingRow(stage, "failed", event.elapsed_seconds - (run.stageStart[stage] || 0));
    } else if (status === "error") {
      show($("request-error"), event.error);
      setStatus("The analysis failed.", "error");
    } else if (status === "completed") {
      run.completed = true;
      for (const [name, secs] of Object.entries(event.stage_times || {})) timingSeconds(name, secs);
      timingRow("total", "done", event.total_processing_time);
      setStatus(`Done in ${event.total_processing_time.toFixed(2)} s.`, "done");
    }
  }

  function stageDone(stage, event) {
    timingRow(stage, "done", event.elapsed_seconds - (run.stageStart[stage] || 0));
  }

  function timingRow(stage, state, secs) {
    const body = $("timings");
    let row = body.querySelector(`tr[data-stage="${CSS.escape(stage)}"]`);
    if (!row) {
      row = el("tr", { "data-stage": stage },
        el("th", { scope: "row" }, STAGE_NAMES[stage] || (stage === "total" ? "Total" : stage)),
        el("td"), el("td", { class: "number" }));
      body.append(row);
    }
    if (row.cells[1].textContent !== "failed") row.cells[1].textContent = state;
    if (secs !== undefined) row.cells[2].textContent = seconds(secs);
  }

  function timingSeconds(stage, secs) {
    const row = $("timings").querySelector(`tr[data-stage="${CSS.escape(stage)}"]`);
    if (row) row.cells[2].textContent = seconds(secs);
  }

  function setProgress(done, total, text) {
    const bar = $("progress");
    bar.setAttribute("aria-valuemax", String(total));
    bar.setAttribute("aria-valuenow", String(done));
    bar.setAttribute("aria-valuetext", text);
  }

  function chunked(spans) {
    run.spans = spans;
    run.labels = spans.map(() => null);
    if (!run.stages.includes("sentiment")) {
      $("progress-text").textContent = "Sentiment was not requested.";
      renderDocument();
      return;
    }
    const bar = $("progress");
    bar.replaceChildren(...spans.map((span, index) => {
      const segment = el("span", { class: "segment", title: `Chunk ${index + 1}: waiting` });
      segment.style.flexGrow = String(Math.max(span.end - span.start, 1));
      return segment;
    }));
    setProgress(0, spans.length, `0 of ${spans.length} chunks`);
    $("progress-text").textContent = `0 of ${spans.length} chunks analysed.`;
    renderDocument();
  }

  function chunkDone(result, count) {
    const index = result.chunk - 1;
    run.labels[index] = result.sentiment;
    const segment = $("progress").children[index];
    if (segment) {
      segment.dataset.sentiment = result.sentiment;
      segment.title = `Chunk ${result.chunk}: ${result.sentiment} (${Math.round(result.confidence * 100)}%)`;
    }
    for (const node of document.querySelectorAll(`#document [data-chunk="${index}"]`)) {
      node.dataset.sentiment = result.sentiment;
    }
    const done = run.labels.filter(Boolean).length;
    setProgress(done, count, `${done} of ${count} chunks`);
    $("progress-text").textContent = `${done} of ${count} chunks analysed.`;
  }

  function colourOf(label) {
    if (!run.colours.has(label)) {
      run.colours.set(label, ENTITY_COLOURS[run.colours.size % ENTITY_COLOURS.length]);
    }
    return run.colours.get(label);
  }

  function entitiesFound(entities) {
    run.entities = entities;
    const counts = new Map();
    const descriptions = new Map();
    for (const entity of entities) {
      counts.set(entity.label, (counts.get(entity.label) || 0) + 1);
      descriptions.set(entity.label, entity.description);
    }
    $("legend").replaceChildren(...[...counts].map(([label, count]) => {
      const swatch = el("span", { class: "swatch", "aria-hidden": "true" });
      swatch.style.background = colourOf(label);
      const description = descriptions.get(label);
      return el("li", { "data-label": label }, swatch, el("strong", {}, label),
        description ? ` ${description}` : "", ` (${count})`);
    }));
    if (!entities.length) $("legend").append(el("li", {}, "No entities found."));
    renderDocument();
  }

  // The text, cut at every chunk and entity boundary: chunks tinted by sentiment, entities
  // marked with their type's colour.
  function renderDocument() {
    const documentView = $("document");
    if (!run) return;
    const chars = run.chars;
    const cuts = new Set([0, chars.length]);
    for (const span of [...run.spans, ...run.entities]) {
      cuts.add(Math.min(Math.max(span.start, 0), chars.length));
      cuts.add(Math.min(Math.max(span.end, 0), chars.length));
    }
    const points = [...cuts].sort((a, b) => a - b);
    const pieces = [];
    for (let i = 0; i + 1 < points.length; i += 1) {
      const [start, end] = [points[i], points[i + 1]];
      let node = chars.slice(start, end).join("");
      const entity = run.entities.find((e) => e.start <= start && end <= e.end);
      if (entity) {
        node = el("mark", { class: "entity", "data-label": entity.label,
          title: `${entity.label}: ${entity.description}` }, node);
        node.style.setProperty("--entity", colourOf(entity.label));
      }
      const chunk = run.spans.findIndex((s) => s.start <= start && end <= s.end);
      if (chunk >= 0) {
        node = el("span", { class: "chunk", "data-chunk": chunk }, node);
        if (run.labels[chunk]) node.dataset.sentiment = run.labels[chunk];
      }
      pieces.push(node);
    }
    documentView.replaceChildren(...pieces);
  }

  updateCount();
})();
