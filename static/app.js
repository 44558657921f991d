// Safe to Report's own script: a progressive enhancement over working links and forms.
//
// Loaded as a module, so it runs after the page has parsed and only in browsers
// GOV.UK Frontend supports. Every page works without it.
import { initAll } from "./govuk-frontend.min.js";

// Keep no copy of pages in localStorage (officers may share computers, and scenario
// text and reasons typed would linger there); Back and Forward reload the page from
// the server instead, which always shows where an attempt really stands. Nothing
// here needs htmx to evaluate code, run scripts in swapped content, or add styles.
if (window.htmx) {
  Object.assign(window.htmx.config, {
    historyCacheSize: 0,
    refreshOnHistoryMiss: true,
    allowEval: false,
    allowScriptTags: false,
    includeIndicatorStyles: false,
  });
}

initAll();

// htmx leaves the page alone when the server answers 4xx or 5xx. Show what the
// server sent instead: a form with errors (422) or a plain-words error page.
// A full page is cut down to its <main>, which replaces ours.
document.addEventListener("htmx:beforeSwap", (event) => {
  const detail = event.detail;
  if (detail.xhr.status < 400) {
    return;
  }
  detail.shouldSwap = true;
  detail.isError = false;
  if (/<main[\s>]/i.test(detail.serverResponse)) {
    detail.target = document.getElementById("main-content");
    detail.selectOverride = "#main-content";
    detail.swapOverride = "outerHTML";
  }
});

// Move focus to the swapped-in content's main heading so that screen readers
// announce the new step and keyboard users carry on from there. An error
// summary takes focus itself when GOV.UK Frontend starts it.
document.addEventListener("htmx:afterSettle", (event) => {
  const region = event.target;
  if (!(region instanceof Element) || !region.isConnected) {
    return;
  }
  initAll({ scope: region });
  if (region.querySelector(".govuk-error-summary")) {
    return;
  }
  const heading = region.matches("h1") ? region : region.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
});
