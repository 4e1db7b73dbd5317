/* The book's own script (Jupyter Book loads every .js file under book/_static on every page). It works offline
   and does nothing on a page without the elements it looks for:
   - "Copy BibTeX" buttons (button.featlearn-copy[data-copy] copies the text of the element with that id);
   - the scorecard's status filter (form.featlearn-filter; ?status=not-reproduced shows only that status).
   (The printable PDF's link is unhidden by `make pdf` when it puts the PDF beside the pages.) */
(function () {
  "use strict";

  function copyText(text, button) {
    const done = () => {
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => fallback(text, done));
    } else {
      fallback(text, done);
    }
  }

  function fallback(text, done) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); done(); } catch (e) { /* nothing to do: the text stays selectable */ }
    document.body.removeChild(area);
  }

  function wireCopyButtons() {
    document.querySelectorAll("button.featlearn-copy[data-copy]").forEach((button) => {
      button.addEventListener("click", () => {
        const target = document.getElementById(button.getAttribute("data-copy"));
        if (target) copyText(target.textContent, button);
      });
    });
  }

  function applyFilter(form) {
    const shown = new Set(Array.from(form.querySelectorAll("input[type=checkbox]"))
      .filter((box) => box.checked).map((box) => box.value));
    document.querySelectorAll("tr.featlearn-row[data-status]").forEach((row) => {
      row.hidden = !shown.has(row.getAttribute("data-status"));
    });
    // A theorem's heading row is hidden when none of its rows is shown; a paper, when none of its theorems is.
    document.querySelectorAll("tr.featlearn-theorem").forEach((head) => {
      let any = false;
      for (let r = head.nextElementSibling; r && !r.classList.contains("featlearn-theorem"); r = r.nextElementSibling) {
        if (!r.hidden) { any = true; break; }
      }
      head.hidden = !any;
    });
    document.querySelectorAll("section.featlearn-paper").forEach((section) => {
      section.hidden = !section.querySelector("tr.featlearn-row:not([hidden])");
    });
  }

  function wireFilter() {
    const form = document.querySelector("form.featlearn-filter");
    if (!form) return;
    const wanted = new URLSearchParams(window.location.search).get("status");
    if (wanted) {
      form.querySelectorAll("input[type=checkbox]").forEach((box) => { box.checked = box.value === wanted; });
    }
    form.addEventListener("change", () => applyFilter(form));
    applyFilter(form);
    if (wanted && window.location.hash) {
      const target = document.getElementById(window.location.hash.slice(1));
      if (target) target.scrollIntoView();
    }
  }

  function start() {
    wireCopyButtons();
    wireFilter();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
