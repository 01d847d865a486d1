"""The pages' words in Chinese and English, and amounts written as people read them (¥1,100.00).

Every label a page shows comes from `MESSAGES`; a key missing in one language is a test failure,
not a blank on a printed page.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("zh", "en")
DEFAULT_LANGUAGE: Final = "zh"
FEN_PER_YUAN: Final = 100

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "app_name": {"en": "fundledger", "zh": "扶贫资金账本"},
    "login_title": {"en": "Sign in", "zh": "登录"},
    "login_help": {
        "en": "Enter the API key you were given (supervisors see only their own funds).",
        "zh": "请输入您领取的密钥（监事只能看到本人负责的资金）。",
    },
    "key": {"en": "Key", "zh": "密钥"},
    "sign_in": {"en": "Sign in", "zh": "登录"},
    "sign_out": {"en": "Sign out", "zh": "退出"},
    "login_failed": {"en": "That key is unknown or revoked.", "zh": "密钥无效或已被吊销。"},
    "login_role_refused": {
        "en": "This key may not use these pages.",
        "zh": "此密钥无权使用这些页面。",
    },
    "login_expired": {
        "en": "The form expired; please sign in again.",
        "zh": "表单已过期，请重新登录。",
    },
    "too_many_attempts": {
        "en": "Too many failed attempts; wait a minute.",
        "zh": "失败次数过多，请稍候再试。",
    },
    "signed_in_as": {"en": "Signed in as", "zh": "当前用户"},
    "role": {"en": "Role", "zh": "角色"},
    "role_admin": {"en": "administrator", "zh": "管理员"},
    "role_clerk": {"en": "clerk", "zh": "记账员"},
    "role_auditor": {"en": "auditor", "zh": "审计"},
    "role_supervisor": {"en": "supervisor", "zh": "监事"},
    "role_client": {"en": "client", "zh": "客户端"},
    "language": {"en": "Language", "zh": "语言"},
    "funds": {"en": "Funds", "zh": "资金"},
    "funds_title": {"en": "Funds and balances", "zh": "资金及余额"},
    "no_funds": {"en": "No fund to show.", "zh": "没有可显示的资金。"},
    "fund": {"en": "Fund", "zh": "资金"},
    "purpose": {"en": "Purpose", "zh": "用途"},
    "revolving": {"en": "Revolving", "zh": "滚动使用"},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "balance": {"en": "Balance", "zh": "余额"},
    "balance_now": {"en": "Balance now", "zh": "当前余额"},
    "balance_as_of": {"en": "Balance at the end of", "zh": "截至当日余额"},
    "show": {"en": "Show", "zh": "查看"},
    "bank_account": {"en": "Special account", "zh": "专户"},
    "custodian": {"en": "Custodian", "zh": "专人"},
    "allowed_categories": {"en": "Allowed categories", "zh": "允许的支出类别"},
    "in_kind_value": {"en": "Goods received (valued)", "zh": "实物捐赠（估值）"},
    "ledger": {"en": "Special ledger", "zh": "专账"},
    "date": {"en": "Date", "zh": "日期"},
    "date_from": {"en": "From", "zh": "起"},
    "date_to": {"en": "To", "zh": "止"},
    "kind": {"en": "Kind", "zh": "类型"},
    "amount": {"en": "Amount", "zh": "金额"},
    "direction": {"en": "In/out", "zh": "收/支"},
    "counterparty": {"en": "Counterparty", "zh": "对方"},
    "category": {"en": "Category", "zh": "类别"},
    "voucher": {"en": "Voucher", "zh": "凭证"},
    "running_balance": {"en": "Balance after", "zh": "结余"},
    "note": {"en": "Note", "zh": "备注"},
    "filter": {"en": "Filter", "zh": "筛选"},
    "clear": {"en": "Clear", "zh": "清除"},
    "next_page": {"en": "Next page", "zh": "下一页"},
    "first_page": {"en": "First page", "zh": "第一页"},
    "no_lines": {"en": "No entries match.", "zh": "没有符合条件的记录。"},
    "dir_in": {"en": "in", "zh": "收入"},
    "dir_out": {"en": "out", "zh": "支出"},
    "dir_none": {"en": "-", "zh": "-"},
    "kind_donation": {"en": "donation", "zh": "捐款"},
    "kind_in_kind_donation": {"en": "goods (valued)", "zh": "实物捐赠"},
    "kind_allocation_out": {"en": "allocation sent", "zh": "拨出"},
    "kind_allocation_in": {"en": "allocation received", "zh": "拨入"},
    "kind_matching_release": {"en": "matching grant", "zh": "配套资金"},
    "kind_loan": {"en": "interest-free loan", "zh": "无息借款"},
    "kind_repayment": {"en": "repayment", "zh": "还款"},
    "kind_cohort_rollover": {"en": "cohort rollover", "zh": "批次回收"},
    "kind_expenditure": {"en": "expenditure", "zh": "支出"},
    "kind_shares": {"en": "shares", "zh": "入股"},
    "kind_bank_statement": {"en": "bank statement", "zh": "银行对账"},
    "kind_reversal": {"en": "reversal", "zh": "冲正"},
    "compliance": {"en": "Three specialized and closed", "zh": "三专一封闭"},
    "special_account": {"en": "Special account", "zh": "专户管理"},
    "special_ledger": {"en": "Special ledger", "zh": "专账核算"},
    "special_personnel": {"en": "Special personnel", "zh": "专人负责"},
    "closed_operation": {"en": "Closed operation", "zh": "封闭运行"},
    "check_ok": {"en": "holds", "zh": "符合"},
    "check_failed": {"en": "does not hold", "zh": "不符合"},
    "findings": {"en": "Findings", "zh": "发现的问题"},
    "no_findings": {"en": "No findings.", "zh": "未发现问题。"},
    "cohorts": {"en": "Cohorts (revolving)", "zh": "滚动批次"},
    "cohort": {"en": "Cohort", "zh": "批次"},
    "loans": {"en": "Loans", "zh": "户数"},
    "principal": {"en": "Principal", "zh": "本金"},
    "repaid": {"en": "Repaid", "zh": "已回收"},
    "granted": {"en": "Granted", "zh": "转为补助"},
    "outstanding": {"en": "Outstanding", "zh": "未回收"},
    "repayment_rate": {"en": "Repayment rate", "zh": "回收率"},
    "funded_by": {"en": "Funded by", "zh": "资金来自"},
    "flow_title": {"en": "Where the money came from and went", "zh": "资金来源与去向"},
    "flow_download": {"en": "Download", "zh": "下载"},
    "flow_empty": {"en": "Nothing has moved yet.", "zh": "尚无资金往来。"},
    "flow_fund_now": {"en": "still in the fund", "zh": "结存"},
    "flow_cohort": {"en": "cohort", "zh": "批次"},
    "flow_loans": {"en": "loans to households", "zh": "借给农户"},
    "flow_sources": {"en": "Sources of the money now in the fund", "zh": "现有余额的来源"},
    "party": {"en": "Party", "zh": "参与方"},
    "parties": {"en": "Parties", "zh": "参与方"},
    "party_given": {"en": "Given in cash", "zh": "现金投入"},
    "party_in_kind": {"en": "Given in goods (valued)", "zh": "实物投入（估值）"},
    "where_now": {"en": "Where its yuan are now", "zh": "资金现在何处"},
    "destination": {"en": "Destination", "zh": "去向"},
    "dest_fund": {"en": "in a fund", "zh": "在资金中"},
    "dest_loan": {"en": "lent to a household", "zh": "借给农户"},
    "dest_grant": {"en": "granted", "zh": "转为补助"},
    "dest_expenditure": {"en": "spent", "zh": "已支出"},
    "audit": {"en": "Audit", "zh": "审计"},
    "audit_title": {"en": "Audit trail", "zh": "审计轨迹"},
    "chain_status": {"en": "Hash chain", "zh": "哈希链"},
    "chain_ok": {"en": "intact", "zh": "完整"},
    "chain_broken": {"en": "BROKEN", "zh": "已损坏"},
    "events_checked": {"en": "Events checked", "zh": "已核验事件数"},
    "head_hash": {"en": "Head hash", "zh": "链头哈希"},
    "broken_at": {"en": "First broken position", "zh": "首个损坏位置"},
    "checkpoints": {"en": "Signed checkpoints", "zh": "已签名检查点"},
    "no_checkpoints": {
        "en": "No checkpoint signed yet (run `fundledger checkpoint`).",
        "zh": "尚未签署检查点（请运行 fundledger checkpoint）。",
    },
    "position": {"en": "Position", "zh": "位置"},
    "signed_at": {"en": "Signed at", "zh": "签署时间"},
    "offline_kit": {"en": "Offline kit for one fund", "zh": "单项资金离线核验包"},
    "offline_kit_help": {
        "en": "Events, ledger (XLSX/CSV), checkpoint and a standalone verify script, as a ZIP.",
        "zh": "含事件、账页（XLSX/CSV）、检查点及独立核验脚本的 ZIP 文件。",
    },
    "download_kit": {"en": "Download the offline kit", "zh": "下载离线核验包"},
    "recent_events": {"en": "Events, in store order", "zh": "事件（按记录顺序）"},
    "event": {"en": "Event", "zh": "事件"},
    "actor": {"en": "Actor", "zh": "操作人"},
    "recorded_at": {"en": "Recorded at", "zh": "记录时间"},
    "print": {"en": "Print", "zh": "打印"},
    "not_found": {"en": "Not found", "zh": "未找到"},
    "forbidden": {"en": "Not allowed", "zh": "无权访问"},
    "forbidden_fund": {
        "en": "This key may not see that fund.",
        "zh": "此密钥无权查看该项资金。",
    },
    "forbidden_page": {"en": "This key may not see this page.", "zh": "此密钥无权查看此页面。"},
    "bad_request": {"en": "Bad request", "zh": "请求有误"},
    "back_to_funds": {"en": "Back to the funds", "zh": "返回资金列表"},
}


def translate(key: str, lang: str) -> str:
    """The label `key` in `lang`; an unknown key shows itself (and fails the completeness test)."""
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["en"]


def pick_language(requested: str | None) -> str:
    return requested if requested in LANGUAGES else DEFAULT_LANGUAGE


def yuan(amount_fen: int) -> str:
    """Integer fen as people read yuan: 110000 -> "¥1,100.00", -500 -> "-¥5.00". No floats."""
    sign = "-" if amount_fen < 0 else ""
    whole_yuan, fen = divmod(abs(amount_fen), FEN_PER_YUAN)
    return f"{sign}¥{whole_yuan:,}.{fen:02d}"
