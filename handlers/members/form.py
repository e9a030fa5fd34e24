"""The profile form: one set of steps (name, category, ... phone, groups, summary) used by two guided
flows, registration (handlers/members/registration.py) and /profile editing (profile.py).

The draft lives in the persisted `user_data` (under the flow's own key) until the member confirms,
so nothing personal is stored before consent and progress survives a restart. Every prompt is
rendered from the draft (what is stored), never from the pressed message, and every prompt is
written to the step journal (`FLOW.enter`) before it is sent: after a restart one step behind,
the journal asks the step again (handlers/steps.py) — the one restart-recovery mechanism.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot import labels
from bot.callbacks import NOOP
from bot.context import Ctx
from bot.errors import Refusal
from bot.members.callbacks import (
    EDITABLE_FIELDS,
    REG_CATEGORY,
    REG_CLOSE,
    REG_CONFIRM,
    REG_CONSENT,
    REG_EDIT,
    REG_EDIT_FIELD,
    REG_EXPERTISE,
    REG_GROUP,
    REG_GROUPS_DONE,
    REG_NAME_TG,
    REG_SKIP,
)
from bot.members.models import CATEGORIES, CATEGORY, EXPERTISE, EXPERTISE_TAG, GROUP_KIND, GROUP_KINDS
from bot.members.rules import NAME_MAX, clean_text
from handlers import common, steps
from handlers import keyboards as kb
from handlers.base import answer, edit_or_reply, reply, translator, user_id_of
from handlers.buttons import on, press

CONSENT, NAME, CATEGORY_STEP, ORG, POSITION, EXPERTISE_STEP, INTERESTS, PHONE, GROUPS, SUMMARY = range(10)
ORDER = (NAME, CATEGORY_STEP, ORG, POSITION, EXPERTISE_STEP, INTERESTS, PHONE, GROUPS, SUMMARY)
FIELD_STEP = dict(
    zip(EDITABLE_FIELDS, (NAME, CATEGORY_STEP, ORG, POSITION, EXPERTISE_STEP, INTERESTS, PHONE, GROUPS), strict=True)
)
TEXT = filters.TEXT & ~filters.COMMAND & common.COMMAND_FILTER
FORM_BUTTONS = (
    REG_CONSENT,
    REG_NAME_TG,
    REG_CATEGORY,
    REG_SKIP,
    REG_EXPERTISE,
    REG_GROUP,
    REG_GROUPS_DONE,
    REG_CONFIRM,
    REG_EDIT,
    REG_EDIT_FIELD,
    REG_CLOSE,
)
Handler = BaseHandler[Update, Ctx, Any]
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | None


def _text(update: Update) -> str:
    return update.message.text if update.message and update.message.text else ""


def beside(*commands: Handler) -> list[Handler]:
    """Fallbacks of the form's flows: `commands`, which continue the flow (/help and /language are
    answered beside every flow: handlers/flows.NEUTRAL_COMMANDS)."""
    return list(commands)


def telegram_name(update: Update) -> str:
    user = update.effective_user
    return " ".join(p for p in (user.first_name, user.last_name) if p) if user else ""


class Form:
    """The steps of the profile form for one flow (its journal and its draft's key in user_data)."""

    draft_key = "form"
    offers_groups = False  # registration asks for groups; /profile leaves them to "My groups"

    def __init__(self, flow: steps.Flow) -> None:
        self.flow = flow
        flow.asks(*ORDER)(self.ask)

    # --- the draft -----------------------------------------------------------------------------------
    def draft(self, context: Ctx) -> dict[str, Any]:
        data = context.user_data if context.user_data is not None else {}
        value = data.get(self.draft_key)
        if not isinstance(value, dict):
            value = {}
            data[self.draft_key] = value
        return value

    def step_of(self, context: Ctx) -> int:
        current = self.flow.current(context)
        return current if isinstance(current, int) else NAME

    # --- prompts -------------------------------------------------------------------------------------
    async def ask(self, update: Update, context: Ctx, state: int) -> int:
        """Record `state` in the journal, show its prompt (from the draft) and return it."""
        if state == GROUPS and not await self.wants_groups(context):
            state = SUMMARY
        d = self.draft(context)
        d["step"] = state  # where a draft kept after its flow was ended continues
        await self.flow.enter(update, context, state)
        tr = await translator(update, context)
        skip = kb.button(str(tr("members.skip")), REG_SKIP.data())
        if state == NAME:
            name = telegram_name(update)
            use = [[kb.button(str(tr("members.name.use", name=name[:40])), REG_NAME_TG.data(source="tg"))]]
            await self.prompt(update, tr("members.ask.name"), kb.inline(use) if name else None)
        elif state == CATEGORY_STEP:
            buttons = [kb.button(labels.label(tr, CATEGORY, c), REG_CATEGORY.data(category=c)) for c in CATEGORIES]
            await self.prompt(update, tr("members.ask.category"), kb.inline(kb.columns(buttons, 1)))
        elif state in (ORG, POSITION, INTERESTS):
            key = {
                ORG: "members.ask.organisation",
                POSITION: "members.ask.position",
                INTERESTS: "members.ask.interests",
            }
            await self.prompt(update, tr(key[state]), kb.inline([[skip]]))
        elif state == EXPERTISE_STEP:
            chosen = set(d.get("expertise", []))
            buttons = [
                kb.button(
                    ("✅ " if t in chosen else "") + labels.label(tr, EXPERTISE_TAG, t), REG_EXPERTISE.data(tag=t)
                )
                for t in EXPERTISE
            ]
            done = kb.button(str(tr("members.done")), REG_EXPERTISE.data(tag="done"))
            await self.prompt(update, tr("members.ask.expertise"), kb.inline([*kb.columns(buttons, 3), [done]]))
        elif state == PHONE:
            required = context.services.settings.phone_required
            keyboard = kb.contact_keyboard(
                str(tr("members.phone.share")), None if required else str(tr("members.skip"))
            )
            await reply(update, tr("members.ask.phone_required" if required else "members.ask.phone"), keyboard)
        elif state == GROUPS:
            chosen = set(d.get("groups", []))
            groups = await context.services.org.all_groups()
            rows = []
            for kind in GROUP_KINDS:  # grouped by kind (分会 / 基层组织 / 兴趣社团), a heading each
                of_kind = [g for g in groups if g.kind == kind]
                if not of_kind:
                    continue
                heading = str(tr("members.groups.heading", kind=labels.label(tr, GROUP_KIND, kind)))
                rows.append([kb.button(heading, NOOP.data())])
                rows += [
                    [
                        kb.button(
                            ("✅ " if g.id in chosen else "")
                            + g.name[:40]
                            + (str(tr("members.groups.needs_approval")) if g.requires_approval else ""),
                            REG_GROUP.data(id=g.id),
                        )
                    ]
                    for g in of_kind
                ]
            done = kb.button(str(tr("members.done")), REG_GROUPS_DONE.data())
            await self.prompt(update, tr("members.ask.groups"), kb.inline([*rows, [done]]))
        else:
            await self.summary(update, context)
        return state

    async def wants_groups(self, context: Ctx) -> bool:
        return self.offers_groups and bool(await context.services.org.all_groups())

    async def summary(self, update: Update, context: Ctx) -> None:
        raise NotImplementedError

    async def prompt(self, update: Update, text: str, markup: Markup) -> None:
        if update.callback_query is not None and not isinstance(markup, ReplyKeyboardMarkup):
            await edit_or_reply(update, text, markup)
        else:
            await reply(update, text, markup)

    async def advance(self, update: Update, context: Ctx, current: int) -> int:
        d = self.draft(context)
        if d.pop("editing", False) or not self.offers_groups:
            return await self.ask(update, context, SUMMARY)
        return await self.ask(update, context, ORDER[ORDER.index(current) + 1])

    async def invalid(self, update: Update, context: Ctx, refusal: Refusal, state: int) -> int:
        tr = await translator(update, context)
        await reply(update, tr(refusal.key, **refusal.values))
        return state

    # --- answers -------------------------------------------------------------------------------------
    async def name_text(self, update: Update, context: Ctx) -> int:
        try:
            self.draft(context)["name"] = clean_text(_text(update), NAME_MAX)
        except Refusal as refusal:
            return await self.invalid(update, context, refusal, NAME)
        return await self.advance(update, context, NAME)

    async def name_from_telegram(self, update: Update, context: Ctx) -> int:
        await answer(update)
        try:
            self.draft(context)["name"] = clean_text(telegram_name(update), NAME_MAX)
        except Refusal as refusal:
            return await self.invalid(update, context, refusal, NAME)
        return await self.advance(update, context, NAME)

    async def category_chosen(self, update: Update, context: Ctx) -> int:
        pressed = press(update, REG_CATEGORY)
        await answer(update)
        if pressed is None:
            return CATEGORY_STEP
        self.draft(context)["category"] = pressed.text("category")
        return await self.advance(update, context, CATEGORY_STEP)

    def free_text(self, state: int, column: str) -> Any:
        async def handle(update: Update, context: Ctx) -> int:
            try:
                self.draft(context)[column] = clean_text(_text(update))
            except Refusal as refusal:
                return await self.invalid(update, context, refusal, state)
            return await self.advance(update, context, state)

        return handle

    def skipped(self, state: int, column: str) -> Any:
        async def handle(update: Update, context: Ctx) -> int:
            await answer(update)
            self.draft(context)[column] = None
            return await self.advance(update, context, state)

        return handle

    async def expertise_toggle(self, update: Update, context: Ctx) -> int:
        pressed = press(update, REG_EXPERTISE)
        await answer(update)
        if pressed is None:
            return EXPERTISE_STEP
        tag = pressed.text("tag")
        if tag == "done":
            return await self.advance(update, context, EXPERTISE_STEP)
        d = self.draft(context)
        chosen: list[str] = list(d.get("expertise", []))
        d["expertise"] = [t for t in chosen if t != tag] if tag in chosen else [*chosen, tag]
        return await self.ask(update, context, EXPERTISE_STEP)

    async def expertise_note(self, update: Update, context: Ctx) -> int:
        try:
            self.draft(context)["expertise_note"] = clean_text(_text(update))
        except Refusal as refusal:
            return await self.invalid(update, context, refusal, EXPERTISE_STEP)
        tr = await translator(update, context)
        await reply(update, tr("members.expertise.noted"))
        return await self.ask(update, context, EXPERTISE_STEP)

    async def phone_contact(self, update: Update, context: Ctx) -> int:
        tr = await translator(update, context)
        contact = update.message.contact if update.message else None
        if contact is None or contact.user_id != user_id_of(update):
            await reply(update, tr("members.phone.not_yours"))
            return PHONE
        self.draft(context)["phone"] = "".join(ch for ch in contact.phone_number if ch.isdigit() or ch == "+")[:20]
        await reply(update, tr("members.phone.saved"), kb.remove_keyboard())
        return await self.advance(update, context, PHONE)

    async def phone_text(self, update: Update, context: Ctx) -> int:
        tr = await translator(update, context)
        if _text(update).strip() == str(tr("members.skip")) and not context.services.settings.phone_required:
            self.draft(context)["phone"] = None
            await reply(update, tr("members.phone.skipped"), kb.remove_keyboard())
            return await self.advance(update, context, PHONE)
        await reply(update, tr("members.phone.use_button"))
        return PHONE

    async def group_toggle(self, update: Update, context: Ctx) -> int:
        pressed = press(update, REG_GROUP)
        await answer(update)
        if pressed is None:
            return GROUPS
        gid = pressed.num("id")
        d = self.draft(context)
        if gid in {g.id for g in await context.services.org.all_groups()}:
            chosen: list[int] = list(d.get("groups", []))
            d["groups"] = [g for g in chosen if g != gid] if gid in chosen else [*chosen, gid]
        return await self.ask(update, context, GROUPS)

    async def groups_done(self, update: Update, context: Ctx) -> int:
        if not self.draft(context).get("groups"):
            tr = await translator(update, context)
            await answer(update, str(tr("members.groups.need_one")), alert=True)
            return await self.ask(update, context, GROUPS)  # shows what is really chosen
        await answer(update)
        return await self.advance(update, context, GROUPS)

    async def edit_menu(self, update: Update, context: Ctx) -> int:
        await answer(update)
        tr = await translator(update, context)
        fields = [f for f in EDITABLE_FIELDS if f != "groups" or self.groups_editable(context)]
        buttons = [kb.button(str(tr(f"members.field.{f}")), REG_EDIT_FIELD.data(field=f)) for f in fields]
        await edit_or_reply(update, tr("members.edit.which"), kb.inline(kb.columns(buttons, 2)))
        return SUMMARY

    def groups_editable(self, context: Ctx) -> bool:
        return self.offers_groups

    async def edit_field(self, update: Update, context: Ctx) -> int:
        pressed = press(update, REG_EDIT_FIELD)
        await answer(update)
        if pressed is None:
            return SUMMARY
        field = pressed.text("field")
        if field == "groups" and not self.groups_editable(context):
            return SUMMARY
        self.draft(context)["editing"] = True
        return await self.ask(update, context, FIELD_STEP[field])

    async def not_this_step(self, update: Update, context: Ctx) -> int:
        """Input the current step does not take (a stray photo, a button of another step): say so and
        ask the step again (the journal's step, through the same asker a restart uses)."""
        tr = await translator(update, context)
        if update.callback_query is not None:
            await answer(update, str(tr("members.step_again")))
        else:
            await reply(update, tr("members.step_again"))
        state = self.step_of(context)
        asker = self.flow.askers.get(state, self.ask)
        result = await asker(update, context, state)
        return result if isinstance(result, int) else state

    # --- wiring --------------------------------------------------------------------------------------
    def states(self, extra: dict[object, list[Handler]] | None = None) -> dict[object, list[Handler]]:
        """Every step's handlers (and `extra` states); each ends with the answer to input it does not take."""
        odd: list[Handler] = [on(b, self.not_this_step) for b in FORM_BUTTONS]
        odd.append(MessageHandler(filters.UpdateType.MESSAGE & ~filters.COMMAND, self.not_this_step))
        free = {ORG: "organisation", POSITION: "position", INTERESTS: "interests"}
        states: dict[object, list[Handler]] = {
            NAME: [MessageHandler(TEXT, self.name_text), on(REG_NAME_TG, self.name_from_telegram)],
            CATEGORY_STEP: [on(REG_CATEGORY, self.category_chosen)],
            EXPERTISE_STEP: [on(REG_EXPERTISE, self.expertise_toggle), MessageHandler(TEXT, self.expertise_note)],
            PHONE: [MessageHandler(filters.CONTACT, self.phone_contact), MessageHandler(TEXT, self.phone_text)],
            GROUPS: [on(REG_GROUP, self.group_toggle), on(REG_GROUPS_DONE, self.groups_done)],
            SUMMARY: [on(REG_EDIT, self.edit_menu), on(REG_EDIT_FIELD, self.edit_field), *self.summary_handlers()],
        }
        for state, column in free.items():
            states[state] = [
                MessageHandler(TEXT, self.free_text(state, column)),
                on(REG_SKIP, self.skipped(state, column)),
            ]
        states.update(extra or {})
        for handlers in states.values():
            handlers.extend(odd)
        return states

    def summary_handlers(self) -> list[Handler]:
        return []
