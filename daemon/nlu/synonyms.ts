// Phone-line vocabulary grouped into concepts, in German, English and Chinese: a caller who says "Quittung",
// "Abrechnung" or "receipt" means what the training examples call "Rechnung" or "invoice". Each word, phrase or Chinese
// key of a concept adds a `c:<concept>` feature (text-features.ts), so an utterance meets an intent's examples
// through words neither of them share. The table is small on purpose and holds the everyday words of a shop with
// sales, deliveries, a service workshop, appointments and billing, not one intent's key words: an agent's own
// examples still decide which concept belongs to which intent. German and English entries are matched by their
// umlaut-folded stem (stem.ts), so one form per word is enough; two-word English entries ("call_off") match adjacent
// words; Chinese keys match inside a run of Han characters, longest first.
//
// To add a word: put it under the concept whose meaning it has on a phone line. A word with two common meanings
// ("Lager" = stock and warehouse, "Konto" = bank and login account) is better left out than put under one.

/** Space-separated entries per language; "_" joins the words of a two-word English entry ("call_off"). */
export interface Concept {
  de: string;
  en: string;
  zh: string;
}

export const CONCEPTS: Record<string, Concept> = {
  open_close: {
    de: "öffnen geöffnet offen öffnungszeit aufmachen aufhaben zumachen schließen geschlossen ladenschluss",
    en: "open opening close closing closed shut",
    zh: "开门 关门 营业 打烊 下班 上班",
  },
  holiday: {
    de: "feiertag ostern weihnachten pfingsten silvester neujahr heiligabend karfreitag urlaub ferien betriebsferien brückentag",
    en: "holiday christmas easter whitsun pentecost vacation",
    zh: "节假日 假日 春节 过年 国庆 元旦 圣诞 放假 假期 五一 中秋",
  },
  appointment: {
    de: "termin terminvereinbarung besuch treffen kalender beratungstermin",
    en: "appointment booking slot visit schedule meeting",
    zh: "预约 约时间 约个",
  },
  book: {
    de: "vereinbaren buchen reservieren eintragen ausmachen",
    en: "book reserve arrange",
    zh: "预订 订个 安排",
  },
  cancel: {
    de: "absagen stornieren streichen abbestellen storno stornierung",
    en: "cancel cancellation call_off",
    zh: "取消 撤销 撤掉",
  },
  terminate: {
    de: "kündigen kündigung beenden auflösen",
    en: "terminate termination quit",
    zh: "解约 终止 退订",
  },
  reschedule: {
    de: "verschieben verlegen umbuchen umlegen",
    en: "reschedule postpone shift move rebook",
    zh: "改期 推迟 延期 改到",
  },
  change: {
    de: "ändern änderung umstellen korrigieren berichtigen anpassen aktualisieren",
    en: "change modify amend correct update alter",
    zh: "修改 更改 更新 改成",
  },
  check: {
    de: "prüfen nachsehen nachschauen schauen bestätigen kontrollieren",
    en: "check confirm verify look_up",
    zh: "确认 查一下 查查 看看",
  },
  order: {
    de: "bestellung bestellen auftrag ordern",
    en: "order",
    zh: "订单 下单 订购",
  },
  buy: {
    de: "kaufen kauf erwerben einkaufen anschaffen",
    en: "buy purchase",
    zh: "买 购买 购",
  },
  shipment_status: {
    de: "unterwegs stand status sendungsverfolgung verfolgen tracking sendungsnummer",
    en: "status track tracking progress",
    zh: "物流 进度 状态 寄出 发出 到哪",
  },
  parcel: {
    de: "paket päckchen sendung ware",
    en: "parcel package delivery shipment goods",
    zh: "包裹 快递 货物",
  },
  deliver: {
    de: "liefern lieferung zustellen zustellung bringen lieferwagen fahrer spedition",
    en: "deliver bring courier driver van",
    zh: "送货 配送 发货 送到 送",
  },
  arrive: {
    de: "ankommen eintreffen erhalten",
    en: "arrive arrival receive",
    zh: "到货 收到 送达",
  },
  missing: {
    de: "fehlen fehlt vermissen verschwunden",
    en: "missing",
    zh: "没收到 少了 不见",
  },
  address: {
    de: "adresse anschrift straße lieferadresse hausnummer umzug umgezogen",
    en: "address street",
    zh: "地址 街道 搬家",
  },
  invoice: {
    de: "rechnung abrechnung quittung beleg kassenbon kassenzettel rechnungskopie kaufbeleg",
    en: "invoice bill receipt statement",
    zh: "账单 发票 单据 收据 凭证",
  },
  charge: {
    de: "berechnen abbuchen abgebucht belasten betrag gebühr",
    en: "charge billed debit amount fee",
    zh: "收费 扣款 收钱 金额 扣钱",
  },
  pay: {
    de: "zahlen bezahlen zahlung begleichen überweisen überweisung",
    en: "pay payment settle",
    zh: "付款 支付 结账 付清 付",
  },
  instalments: {
    de: "raten ratenzahlung finanzierung finanzieren monatlich",
    en: "instalment installment finance financing monthly",
    zh: "分期 按月",
  },
  card: {
    de: "karte kreditkarte girokarte visa mastercard paypal bargeld bar",
    en: "card visa mastercard paypal cash",
    zh: "信用卡 刷卡 现金 支付宝 微信",
  },
  failure: {
    de: "fehler fehlermeldung abgelehnt abbrechen klappt",
    en: "error fail failed declined rejected crash",
    zh: "失败 被拒 中断 出错",
  },
  refund: {
    de: "erstattung erstatten zurückerstatten rückerstattung rückzahlung gutschrift gutschreiben rückbuchung",
    en: "refund reimburse reimbursement money_back",
    zh: "退款 退钱 返还",
  },
  money: {
    de: "geld summe euro",
    en: "money sum euro pound",
    zh: "钱 款",
  },
  complaint: {
    de: "beschwerde beschweren unzufrieden unverschämt unmöglich frechheit enttäuscht ärgerlich verärgert",
    en: "complaint complain unhappy disappointed unacceptable outrageous rude shocking appalling",
    zh: "投诉 不满 过分 差劲 态度",
  },
  person: {
    de: "mitarbeiter mitarbeiterin mensch person kollege kollegin berater beraterin sachbearbeiter",
    en: "person human staff agent advisor adviser representative colleague operator",
    zh: "人工 真人 工作人员 客服",
  },
  connect: {
    de: "verbinden durchstellen weiterleiten apparat",
    en: "connect put_through transfer forward",
    zh: "转接 接通 转 说话",
  },
  price: {
    de: "preis kosten kostet teuer günstig",
    en: "price cost costs expensive cheap how_much rate",
    zh: "价格 多少钱 价钱 费用 价",
  },
  quote: {
    de: "angebot kostenvoranschlag voranschlag offerte kalkulation kalkulieren schriftlich",
    en: "quote quotation estimate proposal",
    zh: "报价 出价 估价 书面",
  },
  location: {
    de: "anfahrt wegbeschreibung standort hinkommen",
    en: "directions located location whereabouts",
    zh: "在哪 怎么走 位置 路线 怎么去",
  },
  car: {
    de: "parkplatz parken auto wagen abstellen stellplatz tiefgarage parkhaus",
    en: "parking park car spot garage",
    zh: "停车 车位 停车场",
  },
  job: {
    de: "job stellenangebot bewerbung bewerben ausbildung lehrstelle praktikum einstellen personal karriere",
    en: "job position vacancy apply application hiring career apprenticeship",
    zh: "工作 招聘 应聘 求职 职位 招人 缺人",
  },
  return: {
    de: "zurückgeben rückgabe zurückschicken zurücksenden retournieren retoure zurückbringen widerruf",
    en: "return send_back take_back bring_back",
    zh: "退货 退回 寄回 退",
  },
  exchange: {
    de: "umtauschen umtausch tauschen austauschen",
    en: "exchange swap trade switch",
    zh: "换货 调换 更换 换",
  },
  broken: {
    de: "kaputt defekt störung streikt undicht tropft ausgefallen",
    en: "broken faulty defective fault leaking leak",
    zh: "坏了 故障 漏水 坏",
  },
  repair: {
    de: "reparatur reparieren werkstatt instandsetzung",
    en: "repair fix workshop",
    zh: "维修 修理 修",
  },
  warranty: {
    de: "garantie gewährleistung hersteller garantiefall",
    en: "warranty guarantee manufacturer",
    zh: "保修 质保",
  },
  technician: {
    de: "techniker monteur handwerker elektriker kundendienst servicetechniker",
    en: "technician engineer fitter electrician repairman",
    zh: "技师 师傅 技术员 维修工",
  },
  stock: {
    de: "vorrätig lieferbar verfügbar vergriffen ausverkauft vorhanden vorrat",
    en: "stock available availability sold_out",
    zh: "有货 库存 现货 缺货 卖完",
  },
  login: {
    de: "passwort kennwort login anmelden einloggen zugang kundenkonto gesperrt zugangsdaten",
    en: "password login log_in sign_in locked",
    zh: "密码 登录 账号 登不上",
  },
  contact_details: {
    de: "telefonnummer handynummer nummer name email mail kontaktdaten",
    en: "phone_number number name email details",
    zh: "电话 号码 名字 邮箱 手机号",
  },
  contract: {
    de: "vertrag abo abonnement wartungsvertrag servicevertrag mitgliedschaft",
    en: "contract subscription membership plan",
    zh: "合同 合约 会员 订阅",
  },
  privacy: {
    de: "datenschutz dsgvo daten löschen gespeichert auskunft",
    en: "privacy data gdpr delete erase stored",
    zh: "隐私 数据 个人信息 删除",
  },
  marketing: {
    de: "werbung prospekt newsletter reklame",
    en: "advertising marketing newsletter leaflet",
    zh: "广告 推销 促销短信",
  },
  callback: {
    de: "zurückrufen rückruf",
    en: "call_back callback ring phone",
    zh: "回电 回电话 打给我 联系我",
  },
  message: {
    de: "nachricht ausrichten hinterlassen mitteilen bescheid",
    en: "message pass_on let_know note",
    zh: "留言 转告 告诉",
  },
  named_person: {
    de: "herr frau herrn ansprechpartner ansprechpartnerin chef chefin",
    en: "mr mrs ms manager contact_person",
    zh: "先生 女士 经理 小姐",
  },
  emergency: {
    de: "notfall dringend sofort notdienst wasserschaden",
    en: "emergency urgent immediately asap flood flooding",
    zh: "紧急 急 马上 立刻",
  },
  supplier: {
    de: "lieferant vertrieb zusammenarbeit partner händler großhandel",
    en: "supplier distributor partnership wholesale partner",
    zh: "合作 供应商 代理 批发",
  },
  press: {
    de: "presse zeitung redaktion journalist journalistin artikel interview bericht reporter",
    en: "press newspaper journalist article interview reporter magazine",
    zh: "记者 采访 报社 媒体 报道 报纸",
  },
  voucher: {
    de: "gutschein geschenkkarte geschenkgutschein guthaben",
    en: "voucher gift_card gift_certificate",
    zh: "礼品卡 代金券 购物卡 礼券 余额",
  },
  discount: {
    de: "rabatt sonderangebot reduziert aktion nachlass prozente schnäppchen",
    en: "discount sale deal reduced promotion coupon",
    zh: "打折 折扣 优惠 便宜",
  },
  area: {
    de: "gebiet umkreis region liefergebiet einzugsgebiet",
    en: "area region radius cover",
    zh: "范围 地区 区域",
  },
  spare_part: {
    de: "ersatzteil zubehör filter beutel dichtung ersatz",
    en: "spare_part parts accessory filter bag replacement",
    zh: "配件 零件 备件 滤芯",
  },
  install: {
    de: "installation installieren anschließen einbauen einbau aufbauen montieren montage",
    en: "install installation fit fitting mount set_up",
    zh: "安装 装上 接上",
  },
  forgotten: {
    de: "vergessen liegenlassen fundsache gefunden",
    en: "forgot forgotten left_behind lost_property found",
    zh: "落下 忘了 失物",
  },
  praise: {
    de: "lob loben zufrieden hervorragend begeistert kompliment",
    en: "praise compliment excellent impressed satisfied",
    zh: "表扬 满意 称赞",
  },
  company: {
    de: "firma firmenkunde geschäftskunde gewerblich unternehmen betrieb büro",
    en: "business company corporate firm office",
    zh: "公司 企业 商户",
  },
  pickup: {
    de: "abholen abholung mitnehmen",
    en: "pick_up collect collection pickup",
    zh: "自提 取货 自取 来拿",
  },
  shipping: {
    de: "versand versandkosten lieferkosten porto",
    en: "shipping postage",
    zh: "运费 邮费",
  },
};

export type ConceptLanguage = "de" | "en";

type Keys = (word: string, language: ConceptLanguage) => string[];

/**
 * CONCEPTS keyed for lookup with the caller's folding and stemming (text-features.ts passes its own), so the table's
 * words are filed exactly as an utterance's words are looked up.
 */
export class ConceptIndex {
  private readonly words = { de: new Map<string, string[]>(), en: new Map<string, string[]>() };
  private readonly pairs = new Map<string, string[]>();
  private readonly hanKeys = new Map<string, string[]>();
  private readonly hanLongest: number;

  constructor(fold: (word: string) => string, keys: Keys, concepts: Record<string, Concept> = CONCEPTS) {
    let longest = 1;
    for (const [concept, entry] of Object.entries(concepts)) {
      for (const l of ["de", "en"] as const)
        for (const item of entry[l].split(/\s+/).filter(Boolean)) {
          const words = item.split("_").map(fold);
          if (words.length === 2) file(this.pairs, words.map((w) => keys(w, l)[0]).join(" "), concept);
          else for (const k of [words[0] as string, ...keys(words[0] as string, l)]) file(this.words[l], k, concept);
        }
      for (const item of entry.zh.split(/\s+/).filter(Boolean)) {
        file(this.hanKeys, item, concept);
        longest = Math.max(longest, [...item].length);
      }
    }
    this.hanLongest = longest;
  }

  /** Concepts of one word, given its folded form and its keys (stems). */
  word(folded: string, stems: string[], language: ConceptLanguage): string[] {
    const map = this.words[language];
    const direct = map.get(folded);
    if (direct) return direct;
    for (const s of stems) {
      const hit = map.get(s);
      if (hit) return hit;
    }
    return [];
  }

  /** Concepts of two adjacent words, given their main stems. */
  pair(first: string, second: string): string[] {
    return this.pairs.get(`${first} ${second}`) ?? [];
  }

  /** Concepts named inside a run of Han characters: longest key first, left to right, no overlaps. */
  han(run: string): string[] {
    const cs = [...run];
    const out: string[] = [];
    for (let i = 0; i < cs.length; ) {
      let step = 1;
      for (let n = Math.min(this.hanLongest, cs.length - i); n >= 1; n--) {
        const hit = this.hanKeys.get(cs.slice(i, i + n).join(""));
        if (!hit) continue;
        out.push(...hit);
        step = n;
        break;
      }
      i += step;
    }
    return out;
  }

  /** The German table words and their stems (3+ letters), as parts to split compounds into. */
  germanLexicon(): string[] {
    return [...this.words.de.keys()].filter((k) => k.length >= 3);
  }
}

function file(into: Map<string, string[]>, key: string, concept: string): void {
  const list = into.get(key);
  if (!list) into.set(key, [concept]);
  else if (!list.includes(concept)) list.push(concept);
}
