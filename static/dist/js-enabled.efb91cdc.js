// Mark the page as having JavaScript, and as supported by GOV.UK Frontend, before it is
// drawn: base.html loads this synchronously as the first thing in <body>, so components
// never flash in their no-script form. It is a file rather than an inline script so that
// the Content-Security-Policy can forbid inline script altogether.
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
