// Safe to Report's own script: a progressive enhancement over working links and forms.
//
// Loaded as a module, so it runs after the page has parsed and only in browsers
// GOV.UK Frontend supports. Every page works without it.
import { initAll } from "./govuk-frontend.min.61e9fa4a.js";

// Keep no copy of pages in the browser's storage (officers may share computers, and
// scenario text and reasons typed would linger there); Back and Forward reload the page from
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

// The server answers htmx with a fragment of the page, but some answers are whole
// pages: the sign-in page after a session ends, or an error page. Never nest a whole
// page inside the play region. Go to a page the server redirected to as an ordinary
// page load; put an error page's <main> in place of ours (htmx would otherwise show
// nothing for 4xx and 5xx answers). A form with errors (422) comes as a fragment and
// swaps like any other.
const WHOLE_PAGE = /^\s*<!doctype html/i;

document.addEventListener("htmx:beforeSwap", (event) => {
  const detail = event.detail;
  const failed = detail.xhr.status >= 400;
  if (!WHOLE_PAGE.test(detail.serverResponse)) {
    if (failed) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
    return;
  }
  if (!failed) {
    detail.shouldSwap = false;
    window.location.assign(detail.xhr.responseURL);
    return;
  }
  detail.shouldSwap = true;
  detail.isError = false;
  detail.target = document.getElementById("main-content");
  detail.selectOverride = "#main-content";
  detail.swapOverride = "outerHTML";
});

// Move focus to the swapped-in content's notice or main heading so that screen readers
// announce the new step and keyboard users carry on from there. An error
// summary takes focus itself when GOV.UK Frontend starts it.
function settled(region) {
  initAll({ scope: region });
  // A next node sent ahead with this feedback (see below): note when it arrived.
  for (const next of region.querySelectorAll("template[data-app-next]")) {
    next.dataset.arrived = String(performance.now());
  }
  if (region.querySelector(".govuk-error-summary")) {
    return;
  }
  // A notice about what just happened (such as "nothing was recorded") comes before the
  // heading: start there, so that it is read first and the heading follows. Other banners,
  // such as the debrief's "Critical criterion not met", are content read in their place.
  const target =
    region.querySelector("[data-app-notice]") ||
    (region.matches("h1") ? region : region.querySelector("h1"));
  if (target) {
    target.setAttribute("tabindex", "-1");
    target.focus();
  }
}

document.addEventListener("htmx:afterSettle", (event) => {
  const region = event.target;
  if (region instanceof Element && region.isConnected) {
    settled(region);
  }
});

// No answer at all (the connection dropped, or the service could not be reached): htmx
// shows nothing by itself, and the button pressed simply works again, so the trainee
// cannot tell whether anything happened. Say so beside what was pressed, in a banner that
// takes focus, and leave the form as it was (the choice and the reason typed), so that it
// can be sent again. That is safe for every form htmx sends here: a step names its number
// and Start the attempt's, so the service records each at most once, and says so when it
// already had. A list that refreshes itself (the invigilator's) says quietly when it last
// could not, and carries on trying at its next turn.
const LOST_HEADING = "The connection was lost before the service answered";

function lostBanner(action, sent) {
  const banner = document.createElement("div");
  banner.className = "govuk-notification-banner";
  banner.setAttribute("role", "region");
  banner.setAttribute("aria-labelledby", "app-lost-title");
  banner.setAttribute("tabindex", "-1");
  banner.dataset.appLost = "";
  const header = document.createElement("div");
  header.className = "govuk-notification-banner__header";
  const title = document.createElement("h2");
  title.className = "govuk-notification-banner__title";
  title.id = "app-lost-title";
  title.textContent = "Important";
  header.append(title);
  const content = document.createElement("div");
  content.className = "govuk-notification-banner__content";
  const heading = document.createElement("p");
  heading.className = "govuk-notification-banner__heading";
  heading.textContent = LOST_HEADING;
  const advice = document.createElement("p");
  advice.className = "govuk-body";
  advice.textContent = `Check your connection, then press ${action} again.`;
  if (sent) {
    advice.textContent +=
      " If what you sent had already been recorded, you will be told so: nothing is recorded twice.";
  }
  content.append(heading, advice);
  banner.append(header, content);
  return banner;
}

function refreshFailed(list) {
  let status = list.previousElementSibling;
  if (!status || !status.matches("[data-app-refresh-failed]")) {
    status = document.createElement("p");
    status.className = "govuk-body govuk-!-font-weight-bold";
    status.setAttribute("role", "status");
    status.dataset.appRefreshFailed = "";
    list.before(status);
  }
  const at = new Date().toLocaleTimeString("en-GB", { timeZone: "Europe/London" });
  status.textContent =
    `The list could not be refreshed at ${at}: the connection was lost. ` +
    "It will try again, or use Refresh the list.";
}

document.addEventListener("htmx:sendError", (event) => {
  const source = event.detail.elt;
  if (!(source instanceof Element) || !source.isConnected) {
    return;
  }
  if (/^every /.test(source.getAttribute("data-hx-trigger") || "")) {
    refreshFailed(source);
    return;
  }
  const sent = source.matches("form");
  const pressed = sent ? source.querySelector("button") : source;
  const action = pressed ? pressed.textContent.trim() : "the button";
  document.querySelectorAll("[data-app-lost]").forEach((old) => old.remove());
  const banner = lostBanner(action, sent);
  source.before(banner);
  banner.focus();
});

document.addEventListener("htmx:afterSettle", (event) => {
  const status = event.target instanceof Element && event.target.previousElementSibling;
  if (status && status.matches("[data-app-refresh-failed]")) {
    status.remove();
  }
});

// In practice, htmx's answer with a decision's feedback carries what follows too, in a
// <template data-app-next>: the next node, or after the last decision the debrief.
// Continue (or See your debrief) then shows it at once, with no request, as htmx
// would have shown the server's answer: the title, the address (Back reloads the
// feedback from the server), htmx on its forms, and focus on its heading. A node's form
// says how long after the feedback arrived the node was shown, so that the time to decide
// leaves out the reading of the feedback; the server keeps that within the time it saw pass.
// A modified click (a new tab, say) follows the link, which shows the same node.
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element && event.target.closest("[data-app-reveal]");
  const region = button && button.closest("#play-region");
  const next = region && region.querySelector("template[data-app-next]");
  if (!next || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) {
    return;
  }
  event.preventDefault();
  const node = next.content.cloneNode(true);
  const title = node.querySelector("title");
  if (title) {
    document.title = title.textContent;
    title.remove();
  }
  const shownAfter = node.querySelector('input[name="shown_after"]');
  if (shownAfter && next.dataset.arrived) {
    shownAfter.value = String(Math.max(0, Math.round(performance.now() - Number(next.dataset.arrived))));
  }
  region.replaceChildren(node);
  history.pushState({ htmx: true }, "", button.getAttribute("href"));
  window.htmx?.process(region);
  settled(region);
});

// An assessment's clock. The page says the deadline in words ("You have until 14:32");
// this adds the minutes left beside it, and announces them politely, once each, at 10, 5
// and 1 minutes left: never every second. The server stays the clock: a step posted
// late is refused there, whatever this shows. The count starts from the seconds left
// that the server wrote into the page, so a wrong clock on this computer does not matter.
const ANNOUNCE_AT = [10, 5, 1];

function minutesWords(minutes) {
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

function startClock(clock) {
  if (clock.dataset.appClockStarted) {
    return;
  }
  clock.dataset.appClockStarted = "true";
  const ends = Date.now() + Number(clock.dataset.secondsLeft) * 1000;
  const shown = clock.querySelector(".app-clock__left");
  const announce = clock.querySelector("[data-app-clock-announce]");
  const said = new Set(ANNOUNCE_AT.filter((m) => Number(clock.dataset.secondsLeft) <= m * 60));
  const tick = () => {
    if (!clock.isConnected) {
      window.clearInterval(timer);
      return;
    }
    const left = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
    const minutes = Math.ceil(left / 60);
    shown.textContent = left > 0 ? `About ${minutesWords(minutes)} left.` : "Time is up.";
    for (const mark of ANNOUNCE_AT) {
      if (left <= mark * 60 && left > 0 && !said.has(mark)) {
        said.add(mark);
        announce.textContent = `${minutesWords(mark)} left.`;
      }
    }
    if (left === 0 && !said.has(0)) {
      said.add(0);
      announce.textContent = "Time is up. Your next answer will show what happens now.";
    }
  };
  const timer = window.setInterval(tick, 1000);
  tick();
}

function startClocks(scope) {
  scope.querySelectorAll("[data-app-clock]").forEach(startClock);
}

startClocks(document);
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.target instanceof Element) {
    startClocks(event.target);
  }
});

// The printable record's "Print this record" button (templates/train/record.html) appears
// only where this script runs (its wrapper is hidden, as a GOV.UK button's own display
// would override `hidden`); the page always says to use the browser's Print command.
document.querySelectorAll("[data-app-print]").forEach((wrapper) => {
  wrapper.hidden = false;
  wrapper.querySelector("button").addEventListener("click", () => window.print());
});
