/* shopagent web widget: plain JavaScript, no build step, no third-party code.
 *
 * Embed: <script src="https://HOST/widget.js" data-merchant="ID" defer></script>
 * Options (data-*): merchant, lang (en|lt|tr|ar|zh...), target (CSS selector to render
 * inline instead of a floating launcher).
 *
 * Everything the model or the catalog wrote is put on the page with textContent, never
 * as HTML; images are shown only from the store's own host.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  if (!script) return;
  const BASE = new URL(script.src, window.location.href).origin;
  const SAME_ORIGIN = BASE === window.location.origin;
  const MERCHANT = script.dataset.merchant || "";
  const RTL = new Set(["ar", "he", "fa", "ur"]);
  const NATIVE = { en: "English", lt: "Lietuvių", tr: "Türkçe", ar: "العربية", zh: "中文" };

  const LABELS = {
    en: {
      title: "Shopping assistant", open: "Ask our assistant", close: "Close", send: "Send", message: "Message",
      placeholder: "Ask about products, orders or policies…", cart: "Your cart", cartEmpty: "Your cart is empty.",
      subtotal: "Subtotal", checkout: "Checkout", remove: "Remove", decrease: "Decrease quantity of",
      increase: "Increase quantity of", add: "Add to cart", added: "Added to cart:", inStock: "In stock",
      onlyLeft: "Only {n} left", outOfStock: "Out of stock", email: "Email", name: "Full name",
      line1: "Street address", city: "City", postal: "Postal code", country: "Country code (e.g. LT)",
      shipping: "Shipping", standard: "Standard", express: "Express", review: "Review order",
      summary: "Order summary", total: "Total", discount: "Discount", confirm: "Confirm and place order",
      back: "Back", placed: "Order {id} is placed.", thinking: "Thinking…", working: "Looking that up…",
      error: "Something went wrong. Please try again.", rateLimited: "Too many messages. Please wait {s} seconds.",
      helpful: "Helpful", notHelpful: "Not helpful", thanks: "Thanks for the feedback!",
      handoff: "A person from our team will follow up.", language: "Language", you: "You", assistant: "Assistant", person: "Store staff",
      quickReplies: "Suggestions", products: "Products",
      quick: ["Show me tents", "What is your return policy?", "Where is my order?", "Talk to a person"],
    },
    lt: {
      title: "Pirkimo asistentas", open: "Klauskite asistento", close: "Uždaryti", send: "Siųsti", message: "Žinutė",
      placeholder: "Klauskite apie prekes, užsakymus ar taisykles…", cart: "Jūsų krepšelis",
      cartEmpty: "Krepšelis tuščias.", subtotal: "Tarpinė suma", checkout: "Apmokėti", remove: "Pašalinti",
      decrease: "Sumažinti kiekį:", increase: "Padidinti kiekį:", add: "Į krepšelį", added: "Įdėta į krepšelį:",
      inStock: "Yra sandėlyje", onlyLeft: "Liko tik {n}", outOfStock: "Išparduota", email: "El. paštas",
      name: "Vardas ir pavardė", line1: "Gatvė ir namo nr.", city: "Miestas", postal: "Pašto kodas",
      country: "Šalies kodas (pvz. LT)", shipping: "Pristatymas", standard: "Standartinis", express: "Skubus",
      review: "Peržiūrėti užsakymą", summary: "Užsakymo suvestinė", total: "Iš viso", discount: "Nuolaida",
      confirm: "Patvirtinti ir užsakyti", back: "Atgal", placed: "Užsakymas {id} pateiktas.",
      thinking: "Galvoju…", working: "Ieškau…", error: "Kažkas nepavyko. Bandykite dar kartą.",
      rateLimited: "Per daug žinučių. Palaukite {s} s.", helpful: "Naudinga", notHelpful: "Nenaudinga",
      thanks: "Ačiū už atsiliepimą!", handoff: "Mūsų komandos narys su jumis susisieks.", language: "Kalba",
      you: "Jūs", assistant: "Asistentas", person: "Parduotuvės darbuotojas", quickReplies: "Pasiūlymai", products: "Prekės",
      quick: ["Parodykite palapines", "Kokia grąžinimo tvarka?", "Kur mano užsakymas?", "Noriu kalbėti su žmogumi"],
    },
    tr: {
      title: "Alışveriş asistanı", open: "Asistana sorun", close: "Kapat", send: "Gönder", message: "Mesaj",
      placeholder: "Ürünler, siparişler veya politikalar hakkında sorun…", cart: "Sepetiniz",
      cartEmpty: "Sepetiniz boş.", subtotal: "Ara toplam", checkout: "Ödeme", remove: "Kaldır",
      decrease: "Adedi azalt:", increase: "Adedi artır:", add: "Sepete ekle", added: "Sepete eklendi:",
      inStock: "Stokta", onlyLeft: "Sadece {n} adet kaldı", outOfStock: "Tükendi", email: "E-posta",
      name: "Ad soyad", line1: "Adres", city: "Şehir", postal: "Posta kodu", country: "Ülke kodu (ör. TR)",
      shipping: "Kargo", standard: "Standart", express: "Ekspres", review: "Siparişi incele",
      summary: "Sipariş özeti", total: "Toplam", discount: "İndirim", confirm: "Onayla ve sipariş ver",
      back: "Geri", placed: "{id} numaralı siparişiniz alındı.", thinking: "Düşünüyorum…", working: "Bakıyorum…",
      error: "Bir şeyler ters gitti. Lütfen tekrar deneyin.", rateLimited: "Çok fazla mesaj. Lütfen {s} saniye bekleyin.",
      helpful: "Faydalı", notHelpful: "Faydalı değil", thanks: "Geri bildiriminiz için teşekkürler!",
      handoff: "Ekibimizden biri sizinle iletişime geçecek.", language: "Dil", you: "Siz", assistant: "Asistan", person: "Mağaza çalışanı",
      quickReplies: "Öneriler", products: "Ürünler",
      quick: ["Çadırları göster", "İade politikanız nedir?", "Siparişim nerede?", "Bir kişiyle görüşmek istiyorum"],
    },
    ar: {
      title: "مساعد التسوق", open: "اسأل مساعدنا", close: "إغلاق", send: "إرسال", message: "رسالة",
      placeholder: "اسأل عن المنتجات أو الطلبات أو السياسات…", cart: "سلة التسوق", cartEmpty: "سلتك فارغة.",
      subtotal: "المجموع الفرعي", checkout: "إتمام الشراء", remove: "إزالة", decrease: "تقليل كمية",
      increase: "زيادة كمية", add: "أضف إلى السلة", added: "تمت الإضافة إلى السلة:", inStock: "متوفر",
      onlyLeft: "بقي {n} فقط", outOfStock: "نفد من المخزون", email: "البريد الإلكتروني", name: "الاسم الكامل",
      line1: "العنوان", city: "المدينة", postal: "الرمز البريدي", country: "رمز الدولة (مثل AE)",
      shipping: "الشحن", standard: "عادي", express: "سريع", review: "مراجعة الطلب", summary: "ملخص الطلب",
      total: "الإجمالي", discount: "الخصم", confirm: "تأكيد الطلب", back: "رجوع", placed: "تم تقديم الطلب {id}.",
      thinking: "جارٍ التفكير…", working: "جارٍ البحث…", error: "حدث خطأ ما. يرجى المحاولة مرة أخرى.",
      rateLimited: "رسائل كثيرة جدًا. يرجى الانتظار {s} ثانية.", helpful: "مفيد", notHelpful: "غير مفيد",
      thanks: "شكرًا على ملاحظاتك!", handoff: "سيتواصل معك أحد أعضاء فريقنا.", language: "اللغة", you: "أنت",
      assistant: "المساعد", person: "موظف المتجر", quickReplies: "اقتراحات", products: "المنتجات",
      quick: ["أرني الخيام", "ما هي سياسة الإرجاع؟", "أين طلبي؟", "أريد التحدث إلى شخص"],
    },
    zh: {
      title: "购物助手", open: "咨询购物助手", close: "关闭", send: "发送", message: "消息",
      placeholder: "询问商品、订单或政策…", cart: "购物车", cartEmpty: "购物车是空的。", subtotal: "小计",
      checkout: "结算", remove: "移除", decrease: "减少数量：", increase: "增加数量：", add: "加入购物车",
      added: "已加入购物车：", inStock: "有货", onlyLeft: "仅剩 {n} 件", outOfStock: "缺货", email: "电子邮箱",
      name: "姓名", line1: "街道地址", city: "城市", postal: "邮政编码", country: "国家代码（如 CN）",
      shipping: "配送", standard: "标准", express: "快递", review: "查看订单", summary: "订单摘要", total: "合计",
      discount: "折扣", confirm: "确认下单", back: "返回", placed: "订单 {id} 已提交。", thinking: "正在思考…",
      working: "正在查询…", error: "出了点问题，请重试。", rateLimited: "消息过多，请等待 {s} 秒。",
      helpful: "有帮助", notHelpful: "没有帮助", thanks: "感谢您的反馈！", handoff: "我们的工作人员会与您联系。",
      language: "语言", you: "您", assistant: "助手", person: "店员", quickReplies: "建议", products: "商品",
      quick: ["给我看看帐篷", "退货政策是什么？", "我的订单在哪里？", "我想和人工客服交谈"],
    },
  };

  // The end-of-conversation rating prompt (docs/retention.md), merged into the labels above.
  const RATING_LABELS = {
    en: { rateTitle: "How was this conversation?", rateStar: "{n} of 5", rateThanks: "Thank you for rating!" },
    lt: { rateTitle: "Kaip vertinate šį pokalbį?", rateStar: "{n} iš 5", rateThanks: "Ačiū už įvertinimą!" },
    tr: { rateTitle: "Bu konuşmayı nasıl buldunuz?", rateStar: "5 üzerinden {n}", rateThanks: "Puanınız için teşekkürler!" },
    ar: { rateTitle: "كيف كانت هذه المحادثة؟", rateStar: "{n} من 5", rateThanks: "شكرًا على تقييمك!" },
    zh: { rateTitle: "您对这次对话满意吗？", rateStar: "{n} 分（满分 5 分）", rateThanks: "感谢您的评分！" },
  };
  for (const code in RATING_LABELS) Object.assign(LABELS[code], RATING_LABELS[code]);
  const RATE_AFTER_MS = 45000; // the shopper has gone quiet: the conversation is probably over

  const uid = "sa" + Math.random().toString(36).slice(2, 8);
  const storageKey = "shopagent.session." + MERCHANT;
  const state = {
    lang: pickLanguage(),
    langChosen: Boolean(script.dataset.lang),
    sessionId: SAME_ORIGIN ? "" : readStored(storageKey),
    busy: false,
    replies: 0,
    cart: null,
    storeName: "",
  };
  const localized = []; // [element, key, attribute or null]

  // -- small helpers -----------------------------------------------------------------------
  function pickLanguage() {
    const candidates = [script.dataset.lang, document.documentElement.lang, navigator.language];
    for (const value of candidates) {
      const code = String(value || "").toLowerCase().split("-")[0];
      if (LABELS[code]) return code;
    }
    return "en";
  }

  function readStored(key) {
    try {
      return window.sessionStorage.getItem(key) || "";
    } catch (e) {
      return "";
    }
  }

  function t(key, values) {
    const table = LABELS[state.lang] || LABELS.en;
    let text = key in table ? table[key] : LABELS.en[key];
    if (typeof text !== "string") return text;
    for (const name in values || {}) text = text.replace("{" + name + "}", String(values[name]));
    return text;
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const name in attrs || {}) {
      const value = attrs[name];
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = String(value);
      else if (name === "label") localize(node, value, null);
      else if (name.startsWith("aria-label:")) localize(node, value, "aria-label");
      else if (name === "placeholder:") localize(node, value, "placeholder");
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children || []) if (child) node.appendChild(child);
    return node;
  }

  function localize(node, key, attribute) {
    localized.push([node, key, attribute]);
    if (attribute) node.setAttribute(attribute, t(key));
    else node.textContent = t(key);
  }

  function money(amount, currency) {
    try {
      return new Intl.NumberFormat(localeOf(state.lang), { style: "currency", currency: currency }).format(amount);
    } catch (e) {
      return amount + " " + currency;
    }
  }

  function localeOf(lang) {
    return { en: "en-IE", lt: "lt-LT", tr: "tr-TR", ar: "ar", zh: "zh-CN" }[lang] || lang;
  }

  function imageUrl(raw) {
    if (!raw) return null;
    try {
      const url = new URL(raw, BASE);
      const ownHost = url.origin === BASE || url.origin === window.location.origin;
      return ownHost && (url.protocol === "https:" || url.protocol === "http:") ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  // -- talking to the server ---------------------------------------------------------------
  function endpoint(path) {
    const url = new URL(BASE + path);
    if (MERCHANT) url.searchParams.set("merchant", MERCHANT);
    return url.href;
  }

  // The server names this browser's session in its answer to the first request. Until that
  // answer arrives, other requests wait for it: sent at once, each would open a session of its
  // own (a message typed while the page still loads its cart would land in another session).
  let firstRequest = null;
  let sessionKnown = !SAME_ORIGIN && Boolean(state.sessionId);

  function request(method, path, body, headers) {
    if (sessionKnown) return transmit(method, path, body, headers);
    if (firstRequest) return firstRequest.then(() => transmit(method, path, body, headers));
    const sent = transmit(method, path, body, headers);
    firstRequest = sent.then(
      () => {
        sessionKnown = true;
      },
      () => {
        firstRequest = null; // no answer: the next request tries to open the session
      },
    );
    return sent;
  }

  function transmit(method, path, body, headers) {
    const all = Object.assign({ Accept: "application/json" }, headers || {});
    if (body !== undefined) all["Content-Type"] = "application/json";
    if (!SAME_ORIGIN && state.sessionId) all["X-Session-Id"] = state.sessionId;
    return fetch(endpoint(path), {
      method: method,
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: SAME_ORIGIN ? "same-origin" : "omit",
    }).then((response) => {
      remember(response);
      return response;
    });
  }

  function remember(response) {
    const sid = response.headers.get("X-Session-Id");
    if (sid && !SAME_ORIGIN) {
      state.sessionId = sid;
      try {
        window.sessionStorage.setItem(storageKey, sid);
      } catch (e) {
        /* storage may be disabled: the session then lasts as long as the page */
      }
    }
  }

  async function api(method, path, body, headers) {
    const response = await request(method, path, body, headers);
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok) throw failure(response, data);
    return data;
  }

  function failure(response, data) {
    let message = t("error");
    if (response.status === 429) message = t("rateLimited", { s: response.headers.get("Retry-After") || "30" });
    else if (data && typeof data.detail === "string") message = data.detail;
    const error = new Error(message);
    error.status = response.status;
    return error;
  }

  // -- layout ------------------------------------------------------------------------------
  const root = el("section", { class: "sa-widget", id: uid, "aria-label:": "title" });
  const heading = el("h2", { class: "sa-title", id: uid + "-title" });
  const langSelect = el("select", { id: uid + "-lang", class: "sa-lang", onchange: () => setLanguage(langSelect.value, true) });
  for (const code of Object.keys(LABELS)) langSelect.appendChild(el("option", { value: code, text: NATIVE[code] }));
  const closeButton = el("button", { type: "button", class: "sa-close", "aria-label:": "close", text: "×" });
  const header = el("div", { class: "sa-header" }, [
    heading,
    el("div", { class: "sa-header-tools" }, [
      el("label", { for: uid + "-lang", class: "sa-visually-hidden", label: "language" }),
      langSelect,
      closeButton,
    ]),
  ]);
  const log = el("div", { class: "sa-log", role: "log", "aria-live": "polite", "aria-relevant": "additions", tabindex: "0", "aria-label:": "title" });
  const status = el("div", { class: "sa-status", role: "status", "aria-live": "polite" });
  const quick = el("div", { class: "sa-quick", role: "group", "aria-label:": "quickReplies" });
  const input = el("textarea", { id: uid + "-input", class: "sa-input", rows: "2", maxlength: "4000", "placeholder:": "placeholder" });
  const sendButton = el("button", { type: "submit", class: "sa-send", label: "send" });
  const form = el("form", { class: "sa-form", novalidate: true }, [
    el("label", { for: uid + "-input", class: "sa-visually-hidden", label: "message" }),
    input,
    sendButton,
  ]);
  const cartList = el("ul", { class: "sa-cart-lines" });
  const cartTotal = el("p", { class: "sa-cart-total" });
  const checkoutButton = el("button", { type: "button", class: "sa-checkout-button", label: "checkout" });
  const cartPanel = el("section", { class: "sa-cart", "aria-labelledby": uid + "-cart-title" }, [
    el("h3", { id: uid + "-cart-title", label: "cart" }),
    cartList,
    cartTotal,
    checkoutButton,
  ]);
  const checkoutPanel = el("section", { class: "sa-checkout", hidden: true, "aria-labelledby": uid + "-checkout-title" });
  const chatColumn = el("div", { class: "sa-chat" }, [log, quick, form]);
  const body = el("div", { class: "sa-body" }, [chatColumn, el("div", { class: "sa-side" }, [cartPanel, checkoutPanel])]);
  root.append(header, body, status);

  // -- messages ----------------------------------------------------------------------------
  function addMessage(role, text) {
    const bubble = el("p", { class: "sa-text", text: text });
    const who = el("span", { class: "sa-visually-hidden", label: role === "user" ? "you" : role === "person" ? "person" : "assistant" });
    const item = el("div", { class: "sa-message sa-" + role }, [who, bubble]);
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    return { item: item, bubble: bubble };
  }

  function addFeedback(item, index) {
    const thanks = el("span", { class: "sa-thanks", hidden: true, label: "thanks" });
    const vote = (rating) => async () => {
      buttons.forEach((b) => (b.disabled = true));
      try {
        await api("POST", "/v1/feedback", { rating: rating, message_index: index });
        thanks.hidden = false;
      } catch (e) {
        announce(e.message);
        buttons.forEach((b) => (b.disabled = false));
      }
    };
    const buttons = [
      el("button", { type: "button", class: "sa-vote", label: "helpful", onclick: vote(1) }),
      el("button", { type: "button", class: "sa-vote", label: "notHelpful", onclick: vote(-1) }),
    ];
    item.appendChild(el("div", { class: "sa-feedback" }, buttons.concat([thanks])));
  }

  // Asked once, when the shopper has gone quiet after a few replies or has placed an order.
  function offerRating() {
    window.clearTimeout(state.rateTimer);
    if (state.ratingShown) return;
    state.ratingShown = true;
    const thanks = el("p", { class: "sa-note", hidden: true, label: "rateThanks" });
    const rate = (n) => async () => {
      stars.forEach((b) => (b.disabled = true));
      try {
        await api("POST", "/v1/rating", { rating: n });
        stars.forEach((b, i) => b.classList.toggle("sa-on", i < n));
        thanks.hidden = false;
      } catch (e) {
        announce(e.message);
        stars.forEach((b) => (b.disabled = false));
      }
    };
    const stars = [1, 2, 3, 4, 5].map((n) =>
      el("button", { type: "button", class: "sa-star", text: "★", "aria-label": t("rateStar", { n: n }), onclick: rate(n) })
    );
    const title = el("p", { id: uid + "-rate", class: "sa-rate-title", label: "rateTitle" });
    log.appendChild(el("div", { class: "sa-rating", role: "group", "aria-labelledby": uid + "-rate" }, [title, el("div", { class: "sa-stars" }, stars), thanks]));
    log.scrollTop = log.scrollHeight;
  }

  function announce(text) {
    status.textContent = "";
    window.setTimeout(() => (status.textContent = text), 30);
  }

  function renderQuickReplies() {
    quick.replaceChildren();
    for (const text of t("quick")) {
      quick.appendChild(el("button", { type: "button", class: "sa-chip", text: text, onclick: () => send(text) }));
    }
  }

  // -- product cards -----------------------------------------------------------------------
  function renderCards(products, into) {
    if (!products || !products.length) return;
    const list = el("ul", { class: "sa-cards", "aria-label:": "products" });
    for (const p of products) {
      const src = imageUrl(p.image_url);
      const stockText = !p.in_stock ? t("outOfStock") : p.stock !== null && p.stock !== undefined ? t("onlyLeft", { n: p.stock }) : t("inStock");
      const add = el("button", { type: "button", class: "sa-add", label: "add", disabled: !p.in_stock });
      add.setAttribute("aria-describedby", uid + "-card-" + cssSafe(p.sku));
      add.addEventListener("click", () => addToCart(p, add));
      list.appendChild(
        el("li", { class: "sa-card", "data-sku": p.sku }, [
          src ? el("img", { src: src, alt: "", loading: "lazy", width: "96", height: "96" }) : el("div", { class: "sa-noimage", "aria-hidden": "true" }),
          el("h4", { class: "sa-card-title", id: uid + "-card-" + cssSafe(p.sku), text: p.title }),
          el("p", { class: "sa-price", text: money(p.price, p.currency) }),
          el("p", { class: p.in_stock ? "sa-stock" : "sa-stock sa-out", text: stockText }),
          add,
        ])
      );
    }
    into.appendChild(list);
    log.scrollTop = log.scrollHeight;
  }

  function cssSafe(text) {
    return String(text).replace(/[^A-Za-z0-9_-]/g, "_");
  }

  async function addToCart(product, button) {
    // aria-busy rather than disabled: disabling the focused button would drop keyboard focus.
    if (button.getAttribute("aria-busy") === "true") return;
    button.setAttribute("aria-busy", "true");
    try {
      renderCart(await api("POST", "/v1/cart/items", { sku: product.sku, quantity: 1 }));
      announce(t("added") + " " + product.title);
    } catch (e) {
      announce(e.message);
    } finally {
      button.removeAttribute("aria-busy");
    }
  }

  // -- cart --------------------------------------------------------------------------------
  function renderCart(cart) {
    if (!cart) return;
    state.cart = cart;
    cartList.replaceChildren();
    if (!cart.lines.length) {
      cartList.appendChild(el("li", { class: "sa-cart-empty", text: t("cartEmpty") }));
    }
    for (const line of cart.lines) {
      const quantity = el("span", { class: "sa-qty", text: String(line.quantity) });
      cartList.appendChild(
        el("li", { class: "sa-cart-line", "data-sku": line.sku }, [
          el("span", { class: "sa-line-title", text: line.title }),
          el("span", { class: "sa-line-controls" }, [
            el("button", { type: "button", class: "sa-step", "aria-label": t("decrease") + " " + line.title, text: "−", onclick: () => setQuantity(line.sku, line.quantity - 1) }),
            quantity,
            el("button", { type: "button", class: "sa-step", "aria-label": t("increase") + " " + line.title, text: "+", onclick: () => setQuantity(line.sku, line.quantity + 1) }),
            el("button", { type: "button", class: "sa-remove", "aria-label": t("remove") + " " + line.title, text: "✕", onclick: () => setQuantity(line.sku, 0) }),
          ]),
          el("span", { class: "sa-line-total", text: money(line.line_total, line.currency) }),
        ])
      );
    }
    cartTotal.textContent = cart.lines.length ? t("subtotal") + ": " + money(cart.subtotal, cart.currency) : "";
    checkoutButton.hidden = !cart.lines.length;
  }

  async function setQuantity(sku, quantity) {
    try {
      renderCart(await api("PUT", "/v1/cart/items/" + encodeURIComponent(sku), { quantity: Math.max(0, quantity) }));
    } catch (e) {
      announce(e.message);
    }
  }

  // -- checkout ----------------------------------------------------------------------------
  function field(name, labelKey, attrs) {
    const id = uid + "-" + name;
    return el("div", { class: "sa-field" }, [
      el("label", { for: id, label: labelKey }),
      el("input", Object.assign({ id: id, name: name }, attrs)),
    ]);
  }

  function showCheckoutForm() {
    const method = el("select", { id: uid + "-method", name: "shipping_method" }, [
      el("option", { value: "standard", label: "standard" }),
      el("option", { value: "express", label: "express" }),
    ]);
    const error = el("p", { class: "sa-error", role: "alert" });
    const checkoutForm = el("form", { class: "sa-checkout-form" }, [
      field("email", "email", { type: "email", required: true, autocomplete: "email", maxlength: "320" }),
      field("name", "name", { required: true, autocomplete: "name", maxlength: "200" }),
      field("line1", "line1", { required: true, autocomplete: "street-address", maxlength: "300" }),
      field("city", "city", { required: true, autocomplete: "address-level2", maxlength: "120" }),
      field("postal_code", "postal", { required: true, autocomplete: "postal-code", maxlength: "20" }),
      field("country", "country", { required: true, autocomplete: "country", maxlength: "2", pattern: "[A-Za-z]{2}" }),
      el("div", { class: "sa-field" }, [el("label", { for: uid + "-method", label: "shipping" }), method]),
      error,
      el("div", { class: "sa-actions" }, [
        el("button", { type: "button", class: "sa-secondary", label: "back", onclick: closeCheckout }),
        el("button", { type: "submit", class: "sa-primary", label: "review" }),
      ]),
    ]);
    checkoutForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!checkoutForm.reportValidity()) return;
      const data = new FormData(checkoutForm);
      const value = (key) => String(data.get(key) || "").trim();
      try {
        const summary = await api("POST", "/v1/checkout", {
          email: value("email"),
          shipping_method: value("shipping_method") || "standard",
          shipping_address: {
            name: value("name"), line1: value("line1"), city: value("city"),
            postal_code: value("postal_code"), country: value("country").toUpperCase(),
          },
        });
        showSummary(summary);
      } catch (e) {
        error.textContent = e.message;
      }
    });
    openCheckout([el("h3", { id: uid + "-checkout-title", tabindex: "-1", label: "checkout" }), checkoutForm]);
  }

  function showSummary(summary) {
    const key = newKey(); // one key per summary shown: a retry of this Confirm can never order twice
    const cur = summary.currency;
    const rows = summary.lines.map((line) =>
      el("li", {}, [
        el("span", { text: line.quantity + " × " + line.title }),
        el("span", { text: money(line.line_total, cur) }),
      ])
    );
    const totals = el("dl", { class: "sa-totals" }, [
      el("dt", { label: "subtotal" }), el("dd", { text: money(summary.subtotal, cur) }),
    ]);
    for (const adjustment of summary.adjustments || []) {
      totals.append(el("dt", { text: adjustment.label }), el("dd", { text: "−" + money(adjustment.amount, cur) }));
    }
    totals.append(
      el("dt", { label: "shipping" }), el("dd", { text: money(summary.shipping, cur) }),
      el("dt", { class: "sa-grand", label: "total" }), el("dd", { class: "sa-grand", text: money(summary.total, cur) })
    );
    const error = el("p", { class: "sa-error", role: "alert" });
    const confirm = el("button", { type: "button", class: "sa-primary sa-confirm", label: "confirm" });
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      error.textContent = "";
      try {
        const order = await api("POST", "/v1/checkout/confirm", { checkout_id: summary.checkout_id }, { "Idempotency-Key": key });
        showPlaced(order);
        renderCart(await api("GET", "/v1/cart"));
      } catch (e) {
        error.textContent = e.message;
        confirm.disabled = false;
      }
    });
    openCheckout([
      el("h3", { id: uid + "-checkout-title", tabindex: "-1", label: "summary" }),
      el("ul", { class: "sa-summary-lines" }, rows),
      totals,
      error,
      el("div", { class: "sa-actions" }, [el("button", { type: "button", class: "sa-secondary", label: "back", onclick: closeCheckout }), confirm]),
    ]);
  }

  function showPlaced(order) {
    const parts = [el("h3", { id: uid + "-checkout-title", tabindex: "-1", class: "sa-placed", text: t("placed", { id: order.order_id }) })];
    if (order.payment_instructions) parts.push(el("p", { text: order.payment_instructions }));
    parts.push(el("p", { text: t("total") + ": " + money(order.total, order.currency) }));
    parts.push(el("button", { type: "button", class: "sa-secondary", label: "close", onclick: closeCheckout }));
    openCheckout(parts);
    addMessage("assistant", t("placed", { id: order.order_id }));
    offerRating();
  }

  function openCheckout(children) {
    checkoutPanel.replaceChildren(...children);
    checkoutPanel.hidden = false;
    const title = checkoutPanel.querySelector("h3");
    if (title) title.focus();
  }

  function closeCheckout() {
    checkoutPanel.hidden = true;
    checkoutPanel.replaceChildren();
    checkoutButton.focus();
  }

  checkoutButton.addEventListener("click", showCheckoutForm);

  // -- chat turns --------------------------------------------------------------------------
  async function send(text) {
    text = String(text || "").trim();
    if (!text || state.busy) return;
    state.busy = true;
    window.clearTimeout(state.rateTimer);
    sendButton.disabled = true;
    input.value = "";
    addMessage("user", text);
    const reply = addMessage("assistant", "");
    reply.bubble.classList.add("sa-pending");
    reply.bubble.textContent = t("thinking");
    log.setAttribute("aria-busy", "true");
    let summaryShown = false;
    try {
      const result = await streamTurn(text, reply);
      summaryShown = finishTurn(result, reply);
    } catch (e) {
      reply.bubble.classList.remove("sa-pending");
      reply.bubble.textContent = e.message || t("error");
      reply.item.classList.add("sa-failed");
    } finally {
      log.setAttribute("aria-busy", "false");
      state.busy = false;
      sendButton.disabled = false;
      if (!summaryShown) input.focus(); // a summary to confirm keeps the focus it took
    }
  }

  async function streamTurn(text, reply) {
    const payload = { message: text };
    if (state.sessionId) payload.session_id = state.sessionId;
    const response = await request("POST", "/v1/chat/stream", payload, { Accept: "text/event-stream" });
    if (!response.ok || !response.body) {
      let data = null;
      try {
        data = await response.json();
      } catch (e) {
        data = null;
      }
      throw failure(response, data);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let started = false;
    let result = null;
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = parseFrame(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (!frame) continue;
        if (frame.event === "session" && !SAME_ORIGIN) {
          state.sessionId = frame.data.session_id;
        } else if (frame.event === "token") {
          if (!started) {
            reply.bubble.textContent = "";
            reply.bubble.classList.remove("sa-pending");
            started = true;
          }
          reply.bubble.textContent += frame.data.text || "";
        } else if (frame.event === "tool_started" && !started) {
          reply.bubble.textContent = t("working");
        } else if (frame.event === "cart") {
          renderCart(frame.data);
        } else if (frame.event === "error" && frame.data && frame.data.fatal) {
          throw new Error(t("error"));
        } else if (frame.event === "done") {
          result = frame.data;
        }
      }
    }
    if (!result) throw new Error(t("error"));
    return result;
  }

  function parseFrame(frame) {
    let event = "message";
    const data = [];
    for (const line of frame.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (!data.length) return null;
    try {
      return { event: event, data: JSON.parse(data.join("\n")) };
    } catch (e) {
      return null;
    }
  }

  function finishTurn(result, reply) {
    if (result.lang && LABELS[result.lang] && !state.langChosen && result.lang !== state.lang) {
      setLanguage(result.lang, false);
    }
    reply.bubble.classList.remove("sa-pending");
    if (result.held) {
      // A person from the store has the conversation: the assistant stayed silent.
      reply.item.remove();
      addMessage("assistant", "").bubble.replaceWith(el("p", { class: "sa-note", text: t("handoff") }));
    } else {
      reply.bubble.textContent = result.reply; // text, never HTML
      addFeedback(reply.item, state.replies++);
      if (state.replies >= 2 && !state.ratingShown) state.rateTimer = window.setTimeout(offerRating, RATE_AFTER_MS);
      renderCards(result.products, reply.item);
    }
    renderCart(result.cart);
    if (result.handoff && !result.held) reply.item.appendChild(el("p", { class: "sa-note", text: t("handoff") }));
    if (result.handoff) watchPerson();
    if (result.checkout) showSummary(result.checkout);
    return Boolean(result.checkout);
  }

  // While a person handles the conversation, show their replies as they arrive.
  const POLL_MS = 5000;
  function watchPerson() {
    if (state.polling) return;
    state.polling = true;
    const poll = async () => {
      try {
        const data = await api("GET", "/v1/chat/messages?after=" + (state.seen || 0));
        // Every person's reply is shown once, whenever it arrived relative to this poll.
        state.shownPerson = state.shownPerson || new Set();
        for (const m of data.messages) {
          if (m.author === "merchant" && !state.shownPerson.has(m.index)) {
            state.shownPerson.add(m.index);
            addMessage("person", m.text);
          }
        }
        state.seen = data.next;
        if (data.handoff === "handled" || data.handoff === "") {
          state.polling = false;
          return;
        }
      } catch (e) {
        /* the network may be down for a moment: keep polling */
      }
      window.setTimeout(poll, POLL_MS);
    };
    poll();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(input.value);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(input.value);
    }
  });

  // -- language ----------------------------------------------------------------------------
  function setLanguage(code, chosen) {
    state.lang = LABELS[code] ? code : "en";
    if (chosen) state.langChosen = true;
    root.setAttribute("lang", state.lang);
    root.setAttribute("dir", RTL.has(state.lang) ? "rtl" : "ltr");
    langSelect.value = state.lang;
    for (const [node, key, attribute] of localized) {
      if (attribute) node.setAttribute(attribute, t(key));
      else node.textContent = t(key);
    }
    heading.textContent = (state.storeName ? state.storeName + " · " : "") + t("title");
    renderQuickReplies();
    if (state.cart) renderCart(state.cart);
    if (launcher) launcher.textContent = t("open");
  }

  // -- mounting ----------------------------------------------------------------------------
  let launcher = null;
  const target = script.dataset.target ? document.querySelector(script.dataset.target) : null;
  if (target) {
    root.classList.add("sa-inline");
    closeButton.hidden = true;
    target.appendChild(root);
  } else {
    launcher = el("button", { type: "button", class: "sa-launcher", "aria-expanded": "false", "aria-controls": uid });
    root.classList.add("sa-floating");
    root.hidden = true;
    const toggle = (open) => {
      root.hidden = !open;
      launcher.setAttribute("aria-expanded", String(open));
      if (open) input.focus();
      else launcher.focus();
    };
    launcher.addEventListener("click", () => toggle(root.hidden));
    closeButton.addEventListener("click", () => toggle(false));
    document.addEventListener("keydown", (event) => {
      const inside = root.contains(document.activeElement) || document.activeElement === document.body;
      if (event.key === "Escape" && !root.hidden && inside) toggle(false);
    });
    document.body.append(launcher, root);
  }
  if (!document.querySelector('link[href$="/widget.css"]')) {
    document.head.appendChild(el("link", { rel: "stylesheet", href: BASE + "/widget.css" }));
  }
  setLanguage(state.lang, state.langChosen);
  renderCart({ lines: [], currency: "EUR", subtotal: "0", version: 0, item_count: 0 });

  api("GET", "/v1/store")
    .then((store) => {
      if (store && store.name) {
        state.storeName = store.name;
        heading.textContent = store.name + " · " + t("title");
      }
    })
    .catch(() => undefined);
  api("GET", "/v1/cart").then(renderCart).catch(() => undefined);
})();
