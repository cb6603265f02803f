"""Demo texts: why clients call, what agents note, what clients complain about, in Chinese and
English (the client's language decides which)."""

# Chinese text takes full-width commas and colons, which RUF001 flags as look-alikes.
# ruff: noqa: RUF001

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CallIntent:
    name: str
    weight: int
    path: tuple[str, ...]  # IVR nodes after the welcome (and the language choice)
    self_service: float  # share of these calls the IVR finishes alone
    queue: str
    disposition: str
    note_zh: str
    note_en: str


_ID = ("identify", "pin", "main_menu")

INTENTS: tuple[CallIntent, ...] = (
    CallIntent(
        "balance", 30, (*_ID, "account", "balance"), 0.75, "general", "information_given",
        "客户查询资金余额及可用资金，已告知。",
        "Asked for cash balance and buying power; told.",
    ),
    CallIntent(
        "positions", 12, (*_ID, "account", "positions"), 0.6, "general", "information_given",
        "客户查询持仓及当日盈亏，已逐项说明。",
        "Went through positions and today's gains and losses.",
    ),
    CallIntent(
        "password", 10, ("identify", "main_menu", "services", "password"), 0.3, "general",
        "password_reset",
        "客户遗忘交易密码，核实身份后指导其重置。",
        "Forgot the trading password; identity checked, explained how to reset it.",
    ),
    CallIntent(
        "order", 15, (*_ID, "trading"), 0.0, "trading", "resolved",
        "客户咨询委托未成交原因，已解释涨跌停及价格优先规则。",
        "Order not filled: explained daily price limits and price priority.",
    ),
    CallIntent(
        "fees", 6, (*_ID, "account", "fees"), 0.0, "general", "information_given",
        "客户咨询佣金费率及印花税，已说明。",
        "Asked about commission rates and stamp duty; explained.",
    ),
    CallIntent(
        "details", 8, (*_ID, "services", "details"), 0.0, "general", "resolved",
        "客户变更联系地址，已提示携带身份证件至营业部或通过网上营业厅办理。",
        "Change of address: explained the online form and the ID documents needed.",
    ),
    CallIntent(
        "ipo", 6, (*_ID, "market", "ipo"), 0.5, "general", "information_given",
        "客户咨询新股申购额度及中签查询，已告知。",
        "Asked about the IPO subscription quota and allotment results.",
    ),
    CallIntent(
        "market", 5, ("main_menu", "market"), 0.9, "general", "information_given",
        "客户咨询大盘行情及停复牌信息，已告知。",
        "Asked about the market and trading suspensions.",
    ),
    CallIntent(
        "advisor", 5, (*_ID, "advisor"), 0.0, "general", "transferred_to_advisor",
        "客户要求联系专属客户经理，已转接。",
        "Asked for the dedicated advisor; transferred.",
    ),
    CallIntent(
        "margin", 3, (*_ID, "services", "margin"), 0.0, "trading", "information_given",
        "客户咨询融资融券开通条件，已说明资产及交易经验要求。",
        "Asked how to open margin trading; explained the asset and experience rules.",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class ComplaintText:
    summary_zh: str
    summary_en: str
    detail_zh: str
    detail_en: str
    resolution_zh: str
    resolution_en: str

    def resolution(self, english: bool) -> str:
        return self.resolution_en if english else self.resolution_zh


def _text(*parts: str) -> ComplaintText:
    return ComplaintText(*parts)


COMPLAINT_TEXTS: dict[str, ComplaintText] = {
    "account.opening": _text(
        "开户审核时间过长", "Account opening took too long",
        "客户反映提交开户资料一周仍未开通。", "Papers in a week ago; account still not open.",
        "已加急审核并开通账户，向客户致歉。", "Review expedited, account opened, apologised.",
    ),
    "account.information": _text(
        "资料变更未生效", "Change of details not applied",
        "客户更新手机号后仍收到发往旧号码的短信。", "Texts still go to the old mobile number.",
        "已核实并更正联系电话。", "Contact number corrected.",
    ),
    "account.password": _text(
        "密码重置流程繁琐", "Password reset too cumbersome",
        "客户认为重置交易密码需临柜办理不便。", "A password reset needed a branch visit.",
        "已指导客户通过视频验证在线重置。", "Guided the client through the online video check.",
    ),
    "account.closure": _text(
        "销户办理受阻", "Account closure obstructed",
        "客户称营业部多次劝阻其销户。", "The branch kept talking the client out of closing.",
        "已按客户意愿办理销户。", "Account closed as the client asked.",
    ),
    "trading.execution": _text(
        "委托成交价格异常", "Order filled at an unexpected price",
        "客户认为市价委托成交价格偏离过大。", "Market order filled far from the quoted price.",
        "已调取成交记录并解释撮合规则，客户认可。", "Fills and matching rules shown; accepted.",
    ),
    "trading.system": _text(
        "交易系统登录失败", "Could not log in to trade",
        "开盘时段交易软件无法登录，错过买入时机。", "Trading app failed at the open; missed a buy.",
        "系统故障已修复，已向客户说明原因。", "Outage fixed and explained to the client.",
    ),
    "trading.fees": _text(
        "佣金高于约定费率", "Commission above the agreed rate",
        "客户对账发现佣金按万分之八收取，与约定不符。", "Charged 0.08% instead of the agreed rate.",
        "已调整费率并退还多收佣金。", "Rate corrected and the excess refunded.",
    ),
    "trading.settlement": _text(
        "资金到账延迟", "Funds arrived late",
        "卖出股票后资金次日仍不可取。", "Sale proceeds not withdrawable the next day.",
        "已解释清算交收时间，资金已到账。", "Explained settlement times; funds now available.",
    ),
    "advice.suitability": _text(
        "推荐产品风险过高", "Product too risky for the client",
        "保守型客户被推荐购买高风险分级基金。", "Conservative client sold a high-risk fund.",
        "已核查适当性记录并协助赎回。", "Suitability records checked; redemption arranged.",
    ),
    "advice.misleading": _text(
        "宣传收益与实际不符", "Promised returns not delivered",
        "客户称客户经理承诺保本保收益。", "Advisor said the product could not lose money.",
        "已对客户经理进行合规警示并向客户说明。", "Advisor warned by compliance; client informed.",
    ),
    "advice.advisor_conduct": _text(
        "客户经理联系不上", "Advisor cannot be reached",
        "客户多次联系专属客户经理未获回复。", "Several calls to the advisor went unanswered.",
        "已更换客户经理并致电致歉。", "New advisor assigned; apology call made.",
    ),
    "products.funds": _text(
        "基金赎回款未到账", "Fund redemption not paid",
        "基金赎回五个工作日后资金未到账。", "Redemption not paid after five working days.",
        "已联系基金公司，款项已到账。", "Fund house contacted; payment received.",
    ),
    "products.margin": _text(
        "融资强制平仓未提前通知", "Margin position closed without warning",
        "客户称平仓前未收到追加担保物通知。", "No margin call before the forced sale.",
        "已调取通知记录并与客户沟通。", "Notice records reviewed with the client.",
    ),
    "products.ipo": _text(
        "新股申购额度计算有误", "IPO quota computed wrongly",
        "客户持仓市值满足条件却无申购额度。", "Holdings qualify but no IPO quota was given.",
        "已解释市值计算口径。", "Explained how the quota is computed.",
    ),
    "service.waiting": _text(
        "热线等待时间过长", "Waited too long on the hotline",
        "客户开盘时段拨打热线等待超过十分钟。", "Waited over ten minutes at the market open.",
        "已致歉并说明高峰期排班调整。", "Apologised; explained peak-hour staffing changes.",
    ),
    "service.agent_conduct": _text(
        "座席服务态度差", "Rude agent",
        "客户反映座席语气生硬，未耐心解答。", "Agent was curt and did not explain.",
        "已复核录音并对座席进行辅导。", "Recording reviewed; agent coached.",
    ),
    "service.no_callback": _text(
        "承诺回电未兑现", "Promised call-back never came",
        "座席承诺当日回电但未回电。", "Agent promised a call-back the same day; none came.",
        "主管已回电并处理客户问题。", "Supervisor called back and settled the matter.",
    ),
    "information.privacy": _text(
        "接到陌生推销电话", "Unsolicited sales calls",
        "客户怀疑个人信息泄露，频繁接到推销电话。", "Suspects a data leak: many sales calls.",
        "已核查访问日志，未发现泄露，已关闭营销授权。", "Access logs clean; marketing consent off.",
    ),
    "information.statements": _text(
        "对账单数据有误", "Wrong figures on the statement",
        "月度对账单持仓数量与实际不符。", "Monthly statement shows wrong quantities.",
        "已重新出具对账单。", "Corrected statement issued.",
    ),
}  # fmt: skip

GENERIC_COMPLAINT = _text(
    "服务投诉", "Service complaint",
    "客户对服务不满，详见通话记录。", "Client unhappy with the service; see the call.",
    "已处理并回复客户。", "Handled and answered.",
)  # fmt: skip

OCCUPATIONS_ZH = (
    "企业管理人员", "工程师", "教师", "医生", "个体工商户", "公务员", "自由职业者",
    "金融从业人员", "律师", "会计师", "IT从业人员", "销售人员", "私营企业主", "科研人员",
    "公司职员",
)  # fmt: skip
OCCUPATIONS_EN = (
    "Engineer", "Teacher", "Consultant", "Executive", "Entrepreneur", "Banker", "Lawyer",
    "Physician", "Researcher", "Accountant", "Designer",
)  # fmt: skip
RETIRED = ("退休人员", "Retired")

CLIENT_NOTES_ZH = (
    "客户偏好电话联系，交易时段请勿打扰。",
    "老年客户，沟通请放慢语速，重要事项书面确认。",
    "客户关注新股申购，有新股发行请提醒。",
    "已完成风险测评，偏好蓝筹股及红利基金。",
    "客户要求每月寄送纸质对账单。",
)
CLIENT_NOTES_EN = (
    "Prefers e-mail; call only in the afternoon.",
    "Interested in Stock Connect and dividend funds.",
    "Needs statements in English.",
)
