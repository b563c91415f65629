/* The live SMS counter of the staff message editors.
 *
 * Counts exactly as notifications/sms.py does (the server repeats the count
 * on save and tests/test_sms_counter_js.py compares the two):
 * - look-alikes that force UCS-2 for nothing (no-break space, curly quotes,
 *   dashes, ...) are replaced first; a venue sending without diacritics has
 *   them removed (common/text.py: đ -> d, then NFD without combining marks);
 * - GSM-7 when every character is in the basic set or the extension table,
 *   an extension character counting two: 160 in one segment, 153 each when split;
 * - otherwise UCS-2, counted in UTF-16 units: 70, 67 each when split.
 *
 * On the page: an element with data-sms-counter and data-for="<textarea id>"
 * (see templates/staff/messages/_counter.html). Without this script the page
 * shows the server's count, refreshed by the Preview button.
 */
(function (root, factory) {
  "use strict";
  const api = factory();
  if (typeof module === "object" && module.exports) {
    module.exports = api;
  } else {
    root.SmsCounter = api;
    if (root.document) {
      api.attachAll(root.document);
    }
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  // GSM 03.38 basic character set, and the extension table (two septets each).
  const GSM7_BASIC = new Set(Array.from(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
  ));
  const GSM7_EXTENSION = new Set(Array.from("^{}\\[~]|€\f"));

  const NEEDLESS_UCS2 = {
    "\u00a0": " ",
    "\u2007": " ",
    "\u202f": " ",
    "\u200b": "",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": "\"",
    "\u201d": "\"",
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
  };

  // Code points whose canonical combining class is not 0 (Python's
  // unicodedata.combining(c) != 0), generated from Python's Unicode data.
  const COMBINING = new RegExp("[" + [
    "\\u{300}-\\u{34E}\\u{350}-\\u{36F}\\u{483}-\\u{487}\\u{591}-\\u{5BD}\\u{5BF}\\u{5C1}-\\u{5C2}",
    "\\u{5C4}-\\u{5C5}\\u{5C7}\\u{610}-\\u{61A}\\u{64B}-\\u{65F}\\u{670}\\u{6D6}-\\u{6DC}",
    "\\u{6DF}-\\u{6E4}\\u{6E7}-\\u{6E8}\\u{6EA}-\\u{6ED}\\u{711}\\u{730}-\\u{74A}\\u{7EB}-\\u{7F3}",
    "\\u{7FD}\\u{816}-\\u{819}\\u{81B}-\\u{823}\\u{825}-\\u{827}\\u{829}-\\u{82D}\\u{859}-\\u{85B}",
    "\\u{898}-\\u{89F}\\u{8CA}-\\u{8E1}\\u{8E3}-\\u{8FF}\\u{93C}\\u{94D}\\u{951}-\\u{954}\\u{9BC}",
    "\\u{9CD}\\u{9FE}\\u{A3C}\\u{A4D}\\u{ABC}\\u{ACD}\\u{B3C}\\u{B4D}\\u{BCD}\\u{C3C}\\u{C4D}",
    "\\u{C55}-\\u{C56}\\u{CBC}\\u{CCD}\\u{D3B}-\\u{D3C}\\u{D4D}\\u{DCA}\\u{E38}-\\u{E3A}",
    "\\u{E48}-\\u{E4B}\\u{EB8}-\\u{EBA}\\u{EC8}-\\u{ECB}\\u{F18}-\\u{F19}\\u{F35}\\u{F37}\\u{F39}",
    "\\u{F71}-\\u{F72}\\u{F74}\\u{F7A}-\\u{F7D}\\u{F80}\\u{F82}-\\u{F84}\\u{F86}-\\u{F87}\\u{FC6}",
    "\\u{1037}\\u{1039}-\\u{103A}\\u{108D}\\u{135D}-\\u{135F}\\u{1714}-\\u{1715}\\u{1734}\\u{17D2}",
    "\\u{17DD}\\u{18A9}\\u{1939}-\\u{193B}\\u{1A17}-\\u{1A18}\\u{1A60}\\u{1A75}-\\u{1A7C}\\u{1A7F}",
    "\\u{1AB0}-\\u{1ABD}\\u{1ABF}-\\u{1ACE}\\u{1B34}\\u{1B44}\\u{1B6B}-\\u{1B73}\\u{1BAA}-\\u{1BAB}",
    "\\u{1BE6}\\u{1BF2}-\\u{1BF3}\\u{1C37}\\u{1CD0}-\\u{1CD2}\\u{1CD4}-\\u{1CE0}\\u{1CE2}-\\u{1CE8}",
    "\\u{1CED}\\u{1CF4}\\u{1CF8}-\\u{1CF9}\\u{1DC0}-\\u{1DFF}\\u{20D0}-\\u{20DC}\\u{20E1}",
    "\\u{20E5}-\\u{20F0}\\u{2CEF}-\\u{2CF1}\\u{2D7F}\\u{2DE0}-\\u{2DFF}\\u{302A}-\\u{302F}",
    "\\u{3099}-\\u{309A}\\u{A66F}\\u{A674}-\\u{A67D}\\u{A69E}-\\u{A69F}\\u{A6F0}-\\u{A6F1}\\u{A806}",
    "\\u{A82C}\\u{A8C4}\\u{A8E0}-\\u{A8F1}\\u{A92B}-\\u{A92D}\\u{A953}\\u{A9B3}\\u{A9C0}\\u{AAB0}",
    "\\u{AAB2}-\\u{AAB4}\\u{AAB7}-\\u{AAB8}\\u{AABE}-\\u{AABF}\\u{AAC1}\\u{AAF6}\\u{ABED}\\u{FB1E}",
    "\\u{FE20}-\\u{FE2F}\\u{101FD}\\u{102E0}\\u{10376}-\\u{1037A}\\u{10A0D}\\u{10A0F}",
    "\\u{10A38}-\\u{10A3A}\\u{10A3F}\\u{10AE5}-\\u{10AE6}\\u{10D24}-\\u{10D27}\\u{10EAB}-\\u{10EAC}",
    "\\u{10F46}-\\u{10F50}\\u{10F82}-\\u{10F85}\\u{11046}\\u{11070}\\u{1107F}\\u{110B9}-\\u{110BA}",
    "\\u{11100}-\\u{11102}\\u{11133}-\\u{11134}\\u{11173}\\u{111C0}\\u{111CA}\\u{11235}-\\u{11236}",
    "\\u{112E9}-\\u{112EA}\\u{1133B}-\\u{1133C}\\u{1134D}\\u{11366}-\\u{1136C}\\u{11370}-\\u{11374}",
    "\\u{11442}\\u{11446}\\u{1145E}\\u{114C2}-\\u{114C3}\\u{115BF}-\\u{115C0}\\u{1163F}",
    "\\u{116B6}-\\u{116B7}\\u{1172B}\\u{11839}-\\u{1183A}\\u{1193D}-\\u{1193E}\\u{11943}\\u{119E0}",
    "\\u{11A34}\\u{11A47}\\u{11A99}\\u{11C3F}\\u{11D42}\\u{11D44}-\\u{11D45}\\u{11D97}",
    "\\u{16AF0}-\\u{16AF4}\\u{16B30}-\\u{16B36}\\u{16FF0}-\\u{16FF1}\\u{1BC9E}\\u{1D165}-\\u{1D169}",
    "\\u{1D16D}-\\u{1D172}\\u{1D17B}-\\u{1D182}\\u{1D185}-\\u{1D18B}\\u{1D1AA}-\\u{1D1AD}",
    "\\u{1D242}-\\u{1D244}\\u{1E000}-\\u{1E006}\\u{1E008}-\\u{1E018}\\u{1E01B}-\\u{1E021}",
    "\\u{1E023}-\\u{1E024}\\u{1E026}-\\u{1E02A}\\u{1E130}-\\u{1E136}\\u{1E2AE}\\u{1E2EC}-\\u{1E2EF}",
    "\\u{1E8D0}-\\u{1E8D6}\\u{1E944}-\\u{1E94A}"
  ].join("") + "]", "gu");

  // Python's str.strip() whitespace (str.isspace()).
  const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
  const PY_STRIP = new RegExp("^[" + PY_SPACE + "]+|[" + PY_SPACE + "]+$", "g");

  // "{name}": a placeholder when the name is known, text otherwise.
  const BRACED = /\{([^{}]*)\}/g;

  function unaccentKeepCase(text) {
    text = (text || "").replace(/đ/g, "d").replace(/Đ/g, "D");
    return text.normalize("NFD").replace(COMBINING, "").normalize("NFC");
  }

  function smsClean(text, withoutDiacritics) {
    text = Array.from(text).map(function (c) {
      return Object.prototype.hasOwnProperty.call(NEEDLESS_UCS2, c) ? NEEDLESS_UCS2[c] : c;
    }).join("");
    return withoutDiacritics ? unaccentKeepCase(text) : text;
  }

  function smsMeasure(text) {
    const chars = Array.from(text);
    const gsm = chars.every(function (c) { return GSM7_BASIC.has(c) || GSM7_EXTENSION.has(c); });
    if (gsm) {
      const septets = chars.reduce(function (n, c) { return n + (GSM7_EXTENSION.has(c) ? 2 : 1); }, 0);
      return {text: text, encoding: "GSM-7", segments: septets <= 160 ? 1 : Math.ceil(septets / 153),
              characters: septets};
    }
    const units = text.length; // UTF-16 code units
    return {text: text, encoding: "UCS-2", segments: units <= 70 ? 1 : Math.ceil(units / 67), characters: units};
  }

  function smsPrepare(text, withoutDiacritics) {
    return smsMeasure(smsClean(text, withoutDiacritics));
  }

  function fill(body, values) {
    return body.replace(BRACED, function (whole, name) {
      if (!Object.prototype.hasOwnProperty.call(values, name)) {
        return whole;
      }
      const value = values[name];
      return value === null || value === undefined ? "" : String(value);
    });
  }

  function unknownPlaceholders(body, allowed) {
    const found = [];
    let match;
    BRACED.lastIndex = 0;
    while ((match = BRACED.exec(body)) !== null) {
      if (allowed.indexOf(match[1]) === -1 && found.indexOf(match[0]) === -1) {
        found.push(match[0]);
      }
    }
    BRACED.lastIndex = 0;
    return found;
  }

  // What the server does to the posted text before counting it.
  function normalise(text) {
    return text.replace(/\r\n/g, "\n").replace(/\r/g, "\n").replace(PY_STRIP, "");
  }

  // "%(segments)s" in a translated format, as Django's gettext uses it.
  function interpolate(format, values) {
    return format.replace(/%\((\w+)\)[sd]/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
    });
  }

  function attach(container) {
    const doc = container.ownerDocument;
    const data = container.dataset;
    const textarea = doc.getElementById(data.for);
    if (!textarea) {
      return;
    }
    const output = container.querySelector("[data-sms-output]");
    const costOutput = container.querySelector("[data-sms-cost]");
    const warnings = container.querySelector("[data-sms-warnings]");
    const preview = data.preview ? doc.getElementById(data.preview) : null;
    const values = JSON.parse(doc.getElementById(data.values).textContent);
    const allowed = (data.allowed || "").split(" ").filter(Boolean);
    const withoutDiacritics = data.withoutDiacritics === "true";
    const price = parseFloat(data.price || "0");
    const recipients = data.recipients ? JSON.parse(doc.getElementById(data.recipients).textContent) : null;

    function recipientCount() {
      if (!recipients) {
        return 1;
      }
      const checked = textarea.form && textarea.form.querySelector("input[name='audience']:checked");
      return checked && recipients[checked.value] !== undefined ? recipients[checked.value] : 0;
    }

    function update() {
      const body = normalise(textarea.value);
      const sms = smsPrepare(fill(body, values), withoutDiacritics);
      const format = sms.segments === 1 ? data.formatOne : data.formatMany;
      output.textContent = interpolate(format, sms);
      if (costOutput) {
        const cost = (sms.segments * price * recipientCount()).toFixed(4).replace(".", data.decimal || ".");
        costOutput.textContent = cost;
      }
      if (preview) {
        preview.textContent = sms.text;
      }
      if (warnings) {
        const unknown = unknownPlaceholders(body, allowed);
        warnings.textContent = unknown.map(function (p) {
          return interpolate(data.formatUnknown || "%(placeholder)s", {placeholder: p});
        }).join(" ");
        warnings.hidden = unknown.length === 0;
        textarea.setAttribute("aria-invalid", unknown.length ? "true" : "false");
      }
    }

    textarea.addEventListener("input", update);
    if (textarea.form) {
      textarea.form.addEventListener("change", update);
    }
    update();
  }

  function attachAll(doc) {
    Array.prototype.forEach.call(doc.querySelectorAll("[data-sms-counter]"), attach);
  }

  return {
    GSM7_BASIC: GSM7_BASIC,
    GSM7_EXTENSION: GSM7_EXTENSION,
    NEEDLESS_UCS2: NEEDLESS_UCS2,
    unaccentKeepCase: unaccentKeepCase,
    smsClean: smsClean,
    smsMeasure: smsMeasure,
    smsPrepare: smsPrepare,
    fill: fill,
    unknownPlaceholders: unknownPlaceholders,
    normalise: normalise,
    interpolate: interpolate,
    attach: attach,
    attachAll: attachAll,
  };
});
