"""Phrases, English and Spanish, read on the normalised words joined by spaces (``|`` marks
a clause break, so no phrase runs across sentences).

Each phrase has an intent and a kind, which tells scope.py how to read it:

- ``request``: asks for something and can be negated (``stop texting me`` / ``please never
  stop texting me``, ``put me back on the list`` / ``don't put me back``);
- ``statement``: says it without a verb to negate, or carries its own negation (``do not
  text``, ``no more messages``, ``I no longer consent``, ``wrong number``);
- ``quote``: our own compliance line (``Reply STOP to opt out``) written back to us;
- ``mention``: a STOP sent by mistake (``I texted stop by accident``), which asks to stay;
- ``keep``: asks to keep receiving (``keep them coming``), which is no instruction;
- ``question``: asks what STOP would do (``what does reply stop do?``), sending none;
- ``preference``: refuses calls and welcomes texts (``don't call, text only``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.compliance.keywords.intent import InboundIntent

OUT = InboundIntent.OPT_OUT
IN = InboundIntent.OPT_IN
HELP = InboundIntent.HELP
NONE = InboundIntent.NONE


@dataclass(frozen=True, slots=True)
class Phrase:
    name: str
    intent: InboundIntent
    kind: str  # request | statement | quote | mention | keep


# What we send, as a noun, and sending it, as a verb.
_MSG = (r"(?:texts?|txts?|texting|messages?|msgs?|messaging|sms|smss|spam|promos?|"
        r"promotions?|promotional|ads|adverts?|advertisements?|offers?|deals?|alerts?|"
        r"notifications?|marketing|emails?|calls?|mails?|coupons?|blasts?|updates?|"
        r"text messages|text alerts|robotexts?|junk|communications?|correspondence)")
_SEND = (r"(?:texting|txting|texing|textin|text|txt|texts|messaging|msging|message|msg|"
         r"messages|msgs|sending|send|contacting|contact|emailing|email|calling|call|"
         r"bugging|bothering|harassing|spamming|spam|sms|hitting me up|hit me up|writing|"
         r"reaching out|getting|receiving|mailing|pinging|blowing up my phone)")
_ME = r"(?:me|us|my (?:\w+ )?(?:number|phone|cell|info|information|name|contact|details|" \
    r"data|email|account|mobile|line|no|num)|this (?:number|phone|cell|line|num)|the number)"
_LIST = (r"(?:list|lists|database|system|contacts|registry|roster|records|mailing list|"
         r"texting list|text list|sms list|distribution list|subscriber list|subscription)")
_OUTWORD = (r"(?:stop|stopp|stopall|unsubscribe|unsubscribed|unsub|opt out|opted out|optout|"
            r"cancel|cancell?ed|end|quit|alto|baja|remove|removed|stopped)")
_NEG = r"(?:dont|do not|dnt|no longer|never|didnt|did not|not|doesnt|does not)"
_WANT = r"(?:want|wanna|need|wish|like|care for|desire|care to|ask for|ask to|asked for)"

# (name, intent, kind, trigger words, pattern). A mention or a quote hides any phrase it
# overlaps, so those come first.
_TABLE: list[tuple[str, InboundIntent, str, str, str]] = [
    # -- a STOP sent by mistake: asks to stay ------------------------------------------
    ("stop_by_mistake", IN, "mention",
     "accident accidentally accidently accidentaly mistake mistaken mistakenly mean "
     "unintentionally wrong misclick misclicked error querer equivoque",
     r"\b(?:accident(?:al+y)?|by accident|on accident|mistaken(?:ly)?|by mistake|"
     r"didnt mean to|did not mean to|unintentionally|wrong button|misclick(?:ed)?|"
     r"por error|sin querer|me equivoque) (?:\w+ ){0,3}?" + _OUTWORD + r"\b[^|]*"),
    ("stop_by_mistake", IN, "mention",
     "accident accidentally accidently accidentaly mistake mistaken mistakenly error "
     "querer",
     r"\b(?:replied|texted|sent|typed|hit|pressed|said|clicked|responded|envie|mande|"
     r"escribi|respondi) (?:\w+ ){0,2}?" + _OUTWORD + r" (?:\w+ ){0,3}?(?:by accident|"
     r"on accident|by mistake|accident(?:al+y)?|mistaken(?:ly)?|por error|sin querer)\b"),
    ("stop_by_mistake", IN, "mention",
     "accident accidentally accidently accidentaly mistake mistaken mistakenly",
     r"\b(?:unsubscribed|opted out|stopped|cancell?ed) (?:\w+ ){0,3}?(?:by accident|"
     r"on accident|by mistake|accident(?:al+y)?|mistaken(?:ly)?)\b"),
    ("undo_stop", IN, "request",
     "undo reverse back cancel",
     r"\b(?:undo|reverse|take back|cancel) (?:the |my |that )?(?:stop|unsubscribe|opt out|"
     r"optout|unsubscription)\b"),
    # -- our own compliance line, written back -------------------------------------------
    ("reply_stop", OUT, "quote",
     "stop stopall end quit cancel unsubscribe unsub optout help info start unstop yes "
     "alto baja ayuda fin parar cancelar",
     r"(?:\b(?:reply|replying|respond|responding|text|txt|send|sending|msg|type|enter|"
     r"answer|responde|responda|envia|envie|escribe|escriba|manda|mande)(?: with)? )?"
     r"\b(?:stop|stopall|end|quit|cancel|unsubscribe|unsub|optout|help|info|start|unstop|"
     r"yes|alto|baja|ayuda|fin|parar|cancelar) (?:to|for|para|a) (?:opt out|optout|"
     r"opt in|optin|unsubscribe|unsub|end|stop|cancel|quit|help|info|resubscribe|"
     r"subscribe|start|rejoin|be removed|remove|cancelar|darte de baja|darse de baja|"
     r"dejar de recibir|salir|ayuda|terminar|detener|suscribirse|optar|opt back in|"
     r"opt out of|unsubscribe from|stop receiving|no longer receive)\b"),
    ("reply_stop", OUT, "quote",
     "msg freq frequency rates",
     r"\bmsg (?:and |n )?data rates (?:may )?apply\b|\bmsg freq(?:uency)? varies\b"),
    # -- a question about what STOP does: asks, does not send one ----------------------
    ("asks_about_stop", NONE, "question",
     "what does do mean happens",
     r"\bwhat (?:does|do|will|would|is|happens if i) (?:it mean to )?(?:reply |replying |"
     r"text |texting |send |sending |saying |typing )?(?:stop|unsubscribe|end|quit|cancel|"
     r"opt out)(?: do| mean| does| for)?\b"),
    ("says_reply_stop", OUT, "quote",
     "say says said saying",
     r"\b(?:says?|said|saying) (?:to )?(?:reply|text|txt|send|respond)(?: with)? "
     r"(?:stop|end|quit|cancel|unsubscribe|alto)\b"),
    # -- calls refused, texts welcome ---------------------------------------------------
    ("calls_not_texts", NONE, "preference",
     "call calls calling",
     r"\b(?:do not|dont|please dont|pls dont|never|no) (?:call|calls|calling)(?: me)?"
     r"(?: \|)? (?:just |only |but |please |pls )?(?:text|texts|texting)(?: only| me| is fine|"
     r" are fine| instead)?\b"),
    # -- opt-out statements ------------------------------------------------------------
    ("do_not_text", OUT, "statement",
     "dont not never dnt longer",
     r"\b(?:do not|dont|pls dont|please dont|never|dnt|no longer|never ever|dont ever|"
     r"do not ever) (?:ever )?(?:again )?" + _SEND + r"(?: or " + _SEND + r")?"
     + r"(?: (?:me|us|this number|my (?:\w+ )?(?:number|phone|cell|wife|husband|son|"
     r"daughter|mom|dad|mother|father|kid|child)|here|again|anymore|any more)\b|(?= \||$))"),
    ("dnc_list", OUT, "statement",
     "dnc not dont list",
     r"\b(?:dnc|do not (?:call|text|contact|message|email)|dont (?:call|text|contact)|"
     r"no call|no text|opt out|unsubscribe|suppression|block|blocked) (?:list|registry)\b"),
    ("do_not_text", OUT, "statement",
     "not", r"\bdo not (?:call|text|contact|disturb)(?: list)?\b"),
    ("no_more_texts", OUT, "statement",
     "no none",
     r"(?<!there )(?<!are )\bno (?:more|further|mas) (?:\w+ )?" + _MSG
     + r"\b(?! left| available| in stock| remaining| today)|\bno more(?= \||$| please| pls|"
     r" thanks| thank you| thx| ever)|\bno more (?:of )?(?:this|these|them|your|ur)\b|"
     r"\b(?:none|no) (?:of )?(?:these|your|ur)? ?" + _MSG + r" (?:please|pls|anymore|again|"
     r"thanks|ever)\b"),
    ("dont_want_texts", OUT, "statement",
     "dont not dnt longer never didnt doesnt",
     r"\b" + _NEG + r" (?:really |even |ever )?" + _WANT + r"(?: to)? (?:receive|get|"
     r"getting|receiving|have|see|be getting|be receiving|be sent|be contacted|be texted|"
     r"be messaged|be on|hear from|keep getting|keep receiving|continue receiving|"
     r"continue getting)\b"),
    ("dont_want_texts", OUT, "statement",
     "dont not dnt longer never didnt doesnt",
     r"\b" + _NEG + r" (?:really |even |ever )?" + _WANT + r" (?:(?:any|anymore|more|"
     r"these|this|your|ur|them|those|the|of|all|further) )+(?:\w+ )?" + _MSG + r"\b"),
    ("dont_want_texts", OUT, "statement",
     "dont not dnt longer never didnt doesnt",
     r"\b" + _NEG + r" (?:really |even |ever )?" + _WANT + r" (?:these|them|this|it|any of "
     r"(?:this|these|it)|that|those|any|anymore|any more)(?: anymore| any more| again| ever|"
     r" thanks| thank you| please| no more)?(?= \||$)"),
    ("no_consent", OUT, "statement",
     "dont not longer never didnt havent hasnt",
     r"\b(?:do not|dont|no longer|never|did not|didnt|have not|havent|has not|hasnt|"
     r"not|never did) (?:ever )?(?:give |gave |given |provide |provided |grant |granted |"
     r"have |has |had )?"
     r"(?:you |u )?(?:my |any |your company |the )?(?:consent|permission|authori[sz]ation|"
     r"authori[sz]e|authori[sz]ed|agree to|agreed to|approve|approved|consented|"
     r"opt in|opted in)\b"),
    ("no_consent", OUT, "statement",
     "without cease object",
     r"\bwithout (?:my |any |prior )?(?:consent|permission|authori[sz]ation)\b|"
     r"\bcease and desist\b|\bcease (?:all )?(?:further )?(?:communications?|contact|"
     r"contacting)\b|\bi object to (?:these|this|your|receiving)\b"),
    ("revoke_consent", OUT, "request",
     "consent permission authorization authorisation agreement approval optin opt",
     r"\b(?:revoke|revoking|revoked|revokes|withdraw|withdrawing|withdrew|withdrawn|"
     r"rescind|rescinding|rescinded|retract|retracting|retracted|terminate|terminating|"
     r"terminated|pull|pulling|take back|taking back|cancel|cancelling|canceling) "
     r"(?:any and all |my |all |any |the |your |all my |all of my |all prior )?(?:prior )?"
     r"(?:express )?(?:written )?(?:\w+ )?(?:consent|permission|authori[sz]ation|"
     r"agreement to receive|approval|opt in|optin)\b"),
    ("revoke_consent", OUT, "statement",
     "consent permission authorization authorisation revoke withdraw rescind",
     r"\b(?:consent|permission|authori[sz]ation) (?:is |has been |was |hereby |is hereby )?"
     r"(?:revoked|withdrawn|rescinded|terminated|denied|cancell?ed)\b|"
     r"\bi (?:hereby )?(?:revoke|withdraw|rescind)\b"),
    ("not_interested", OUT, "statement",
     "interested intrested interessted intersted interest",
     r"\b(?:not|no longer|never|aint|nt|no) (?:really |even |at all )?(?:interested|"
     r"intrested|interessted|intersted)\b|\bno interest\b"),
    ("wrong_number", OUT, "statement",
     "wrong right correct",
     r"\bwrong (?:number|person|phone|guy|girl|num|no|cell|lady|man)\b|"
     r"\bnot (?:the right|the correct) (?:person|number)\b"),
    ("why_texting", OUT, "statement",
     "why",
     r"\bwhy (?:are|r|do|is|does|would|did|the hell are|tf are|am i|do i|are you still|"
     r"do you keep|am i still) (?:you |u |yall |ya |this |someone |people |you guys |y all |"
     r"i |they )?(?:keep |still |even )*(?:getting |receiving )?" + _SEND + r"\b"),
    ("who_gave_number", OUT, "statement",
     "who where how",
     r"\b(?:who|where did you|how did you|how do you|where do you|how did u|where did u) "
     r"(?:gave|give|get|got|have|find|found) (?:you )?my (?:number|info|phone|contact|cell)\b"),
    ("leave_me_alone", OUT, "statement",
     "alone lose delete forget away lost off",
     r"\b(?:leave me alone|lose my number|delete my number|forget my number|go away|"
     r"get lost|fuck off|f off|piss off|buzz off|bugger off|back off|leave us alone)\b"),
    ("never_signed_up", OUT, "statement",
     "never didnt not dont remember recall",
     r"\b(?:did not|didnt|never|dont remember|do not remember|dont recall|never ever) "
     r"(?:ever )?(?:sign|signed|opt|opted|subscribe|subscribed|ask|asked|agree|agreed|"
     r"register|registered|join|joined|enroll|enrolled) (?:up|in|for|to)\b|"
     r"\b(?:never|didnt|did not) (?:subscribe|subscribed|register|registered|join|joined)\b"),
    ("already_opted_out", OUT, "statement",
     "unsubscribed opted said replied texted sent typed asked told requested",
     r"\b(?:already|i|ive|i have|weve|we) (?:already |have |had |previously |just )?"
     r"(?:unsubscribed|opted out|said stop|replied stop|texted stop|sent stop|typed stop|"
     r"asked you to stop|told you to stop|asked to be removed|requested to be removed|"
     r"asked to unsubscribe|asked you to remove|told you to remove|said unsubscribe|"
     r"asked to stop)\b"),
    ("sick_of_texts", OUT, "statement",
     "enough done sick tired fed over",
     r"\b(?:enough|done with|sick of|tired of|fed up with|over) (?:\w+ ){0,2}"
     r"(?:" + _MSG + r"|texting|messages)\b|\benough already\b"),
    # -- opt-out requests --------------------------------------------------------------
    ("stop_texting", OUT, "request",
     "stop stopp quit cease end halt discontinue pause stahp kill",
     r"\b(?:stop|stopp|quit|cease|end|halt|discontinue|pause|stahp|kill) (?:(?:the|these|"
     r"those|your|ur|all|of|this|them|any|every|further|from|all of|sending|me|texting) ){0,3}"
     + r"(?:" + _SEND + r"|" + _MSG + r")\b"),
    ("quit_it", OUT, "request",
     "stop quit end cancel halt kill",
     r"\b(?:stop|quit|end|cancel|halt) (?:these|them|those)\b|"
     r"\b(?:stop|quit|end|cancel|halt|kill) (?:it|this|that|all|everything|all of it|all this|"
     r"this now|it now)(?= \||$| now| please| pls| already| immediately| asap| thanks| right)"),
    ("take_me_off", OUT, "request",
     "off from out",
     r"\b(?:take|get|remove|delete|drop|erase|pull|scratch|cross|strike|wipe|purge|unenroll|"
     r"unlist|count|leave|kick|cut|unsubscribe|unsub|opt|deregister|exclude|exempt|"
     r"removing|taking) " + _ME + r" (?:off|from|out)\b"),
    ("take_me_off", OUT, "request",
     "remove delete drop erase unsubscribe unsub unenroll deregister purge",
     r"\b(?:remove|delete|drop|erase|unsubscribe|unsub|unenroll|deregister|purge) "
     r"(?:me|us|my number|this number|my phone|my info|my cell|my name|my contact|"
     r"this phone|my information|my data|my details)\b"),
    ("take_me_off", OUT, "request",
     "off out from",
     r"\b(?:want|wanna|need|be|get|go|gone|taken|removed|deleted|dropped|off|out) "
     r"(?:me |my number |myself |it )?(?:off|out of|from) (?:of )?(?:your|ur|the|this|that|"
     r"ya|you|all|any|these|those|all your|all of your|all these) (?:\w+ )?" + _LIST + r"\b"),
    ("take_me_off", OUT, "request",
     "removed deleted unsubscribed taken dropped opted unenrolled unlisted out",
     r"\b(?:be|get|been|being) (?:removed|deleted|unsubscribed|taken off|dropped|opted out|"
     r"unenrolled|unlisted)\b|\b(?:i want|i wanna|i need|i would like|id like) out\b"),
    ("take_me_off", OUT, "request",
     "removed deleted off erased",
     r"\b(?:my|this) (?:\w+ )?(?:number|info|information|name|phone|contact|details|data) "
     r"(?:removed|deleted|taken off|erased)\b"),
    ("opt_out", OUT, "request",
     "out", r"\b(?:opt|opting|opted|optin) (?:me |us )?out\b"),
    ("cancel_subscription", OUT, "request",
     "cancel cancelling canceling cancelling end ending terminate terminating stop "
     "stopping discontinue close deactivate quit unsubscribe unsub opt",
     r"\b(?:cancel|cancell?ing|end|ending|terminate|terminating|stop|stopping|discontinue|"
     r"close|deactivate|quit|unsubscribe from|unsub from|opt out of) (?:(?:my|the|this|these|"
     r"your|ur|all|our|all my|all the|all these|all of|of) )?(?:\w+ )?(?:subscriptions?|"
     r"membership|enrollment|enrolment|texts?|messages?|alerts?|notifications?|sms|"
     r"text alerts|text messages|account|service|list|mailing list|plan|updates|promos|"
     r"promotions|marketing)\b"),
    ("block_number", OUT, "request",
     "block blocking blocked",
     r"\b(?:block|blocking|blocked|reporting and blocking) (?:you|u|this|your|ur|this number|"
     r"the number|them|yall|ya)\b"),
    # -- Spanish -----------------------------------------------------------------------
    ("es_remove_me", OUT, "request",
     "sacame sacanme saquenme saqueme sacarme sacarnos quitame quitenme quiteme quitarme "
     "borrame borrenme borreme borrarme eliminame eliminenme elimineme eliminarme "
     "remueveme remuevanme retirame retirenme retirarme excluyanme excluirme bajenme "
     "bajame desuscribanme desuscribame desuscribirme desuscribir desinscribirme "
     "desinscribanme desapuntame desapuntarme",
     r"\b(?:sacame|sacanme|saquenme|saqueme|sacarme|sacarnos|quitame|quitenme|quiteme|"
     r"quitarme|borrame|borrenme|borreme|borrarme|eliminame|eliminenme|elimineme|"
     r"eliminarme|remueveme|remuevanme|retirame|retirenme|retirarme|excluyanme|excluirme|"
     r"bajenme|bajame|desuscribanme|desuscribame|desuscribirme|desuscribir|desinscribirme|"
     r"desinscribanme|desapuntame|desapuntarme)\b"),
    ("es_remove_me", OUT, "request",
     "numero telefono celular contacto nombre cel",
     r"\b(?:borren|borrar|eliminen|eliminar|quiten|quitar|saquen|sacar|retiren|retirar|"
     r"borra|elimina|quita|saca) (?:mi|este|el) (?:numero|telefono|celular|contacto|"
     r"nombre|cel)\b"),
    ("es_baja", OUT, "request",
     "baja",
     r"\b(?:dar|darme|den|denme|dame|deme|doy|darnos|dense|darse|dan|da|dale|darle|dese|"
     r"darte) de baja\b|\b(?:solicito|quiero|pido|deseo|solicitar|pedir|tramitar|"
     r"quisiera) (?:la |mi |una )?baja\b|\bbaja de (?:la|su|tu|esta|sus) "
     r"(?:lista|listas|base|servicio|suscripcion)\b"),
    ("es_stop_sending", OUT, "request",
     "dejen deja deje dejar paren para pare parar detengan deten detener cesen cese basta",
     r"\b(?:dejen|deja|deje|dejar|paren|para|pare|parar|detengan|deten|detener|cesen|cese|"
     r"basta) (?:ya )?(?:de )?(?:mandar|mandarme|enviar|enviarme|escribir|escribirme|"
     r"textear|textearme|molestar|molestarme|llamar|llamarme|contactar|contactarme|"
     r"mandarnos|enviarnos|mandarle|enviarle|mandar mensajes|enviar mensajes)\b"),
    ("es_stop_sending", OUT, "request",
     "mensajes textos sms promociones ofertas envios suscripcion subscripcion "
     "notificaciones alertas llamadas servicio membresia",
     r"\b(?:paren|parar|para|detengan|detener|cancelen|cancelar|cancela|cancele|cancelo|"
     r"basta de|alto a|terminen|terminar|anular|anulen|suspender|suspendan|cancelen) "
     r"(?:ya )?(?:con )?(?:los|sus|tus|estos|estas|las|el|la|todos los|todas las|mi|mis)? ?"
     r"(?:mensajes|textos|sms|promociones|ofertas|envios|suscripcion|subscripcion|"
     r"notificaciones|alertas|llamadas|servicio|membresia)\b"),
    ("es_want_out", OUT, "request",
     "quiero deseo quisiera queremos",
     r"\b(?:quiero|deseo|quisiera|queremos) (?:cancelar|darme de baja|desuscribirme|"
     r"salirme|salir de (?:la|su|tu|esta) lista|que me (?:saquen|quiten|borren|eliminen))\b"),
    ("es_how_to_leave", OUT, "request",
     "como",
     r"\bcomo (?:cancelo|me doy de baja|me desuscribo|dejo de recibir|me salgo|salgo de la "
     r"lista|paro (?:los|estos) mensajes|me quito de la lista|me borro)\b"),
    ("es_no_messages", OUT, "statement",
     "no",
     r"\b(?:ya )?no (?:me |nos |le |les )?(?:vuelvan a |vuelvas a |vuelva a |sigan |sigas )?"
     r"(?:manden|mandes|mande|mandar|envien|envies|envie|enviar|escriban|escribas|escriba|"
     r"escribir|textees|texteen|contacten|contactes|contactar|llamen|llames|molesten|"
     r"molestes|molestar|mandando|enviando|escribiendo)\b"),
    ("es_no_messages", OUT, "statement",
     "no",
     r"\b(?:ya )?no (?:quiero|deseo|necesito|quiero seguir|deseo seguir|me interesa|"
     r"me interesan|queremos) (?:recibir|mas|seguir recibiendo|sus|tus|estos|estas|los|las|"
     r"ningun|ninguna|mensajes|textos|nada|promociones|ofertas|recibirlos|recibirlas)\b|"
     r"\bno mas (?:mensajes|textos|sms|promociones|ofertas|spam)\b|\bno mas(?= \||$)|"
     r"\bno (?:quiero|deseo|queremos) que (?:me |nos )?(?:sigan )?(?:manden|envien|escriban|"
     r"contacten|llamen|molesten|mandando|enviando)\b|"
     r"\bno (?:me )?interesa\b|\bno estoy interesad[oa]\b|\bya no quiero(?= \||$)|"
     r"\bno quiero (?:nada|mas)(?= \||$)"),
    ("es_revoke", OUT, "statement",
     "consentimiento autorizacion permiso autorizo",
     r"\b(?:revoco|retiro|revocar|retirar|anulo|cancelo|quito) (?:mi |el |todo )?"
     r"(?:consentimiento|autorizacion|permiso)\b|"
     r"\b(?:no|nunca) (?:doy|di|he dado|autorizo|autorice|"
     r"acepto|acepte|tienen|tiene) (?:mi )?(?:consentimiento|autorizacion|permiso)\b|"
     r"\bsin mi (?:consentimiento|autorizacion|permiso)\b|\bno autorizo\b"),
    ("es_wrong_number", OUT, "statement",
     "numero equivocado equivocada equivocados equivocadas persona equivoco equivocaron "
     "equivocaste equivocan",
     r"\bnumero (?:equivocado|incorrecto|errado)\b|\bequivocad[oa]s? de (?:numero|persona)\b|"
     r"\bpersona equivocada\b|\bse equivoc\w* de (?:numero|persona)\b"),
    ("es_who_gave_number", OUT, "statement",
     "numero",
     r"\bquien (?:les |te |le )?(?:dio|paso) mi numero\b|\bcomo (?:consiguieron|obtuvieron|"
     r"tienen|consiguio|obtuvo) mi numero\b|\bde donde sacaron mi numero\b"),
    ("es_never_signed_up", OUT, "statement",
     "nunca no",
     r"\b(?:nunca|yo no) me (?:suscribi|inscribi|registre|apunte)\b|\bnunca (?:pedi|"
     r"solicite|autorice)\b"),
    ("es_leave_me_alone", OUT, "statement",
     "paz molesten",
     r"\bdejenme en paz\b|\bdejame en paz\b|\bno molesten\b|\bno me molesten\b"),
    # -- opt-in -------------------------------------------------------------------------
    ("meant_start", IN, "request",
     "meant",
     r"\bmeant (?:to (?:say|type|text|send|reply) )?(?:start|unstop|yes|subscribe)\b"),
    ("add_me_back", IN, "request",
     "back again",
     r"\b(?:put|add|sign|get|bring|let|take|opt|subscribe|resubscribe|enroll|include|"
     r"readd|re add) (?:me|us|my number|this number|myself) (?:back|again)\b"),
    ("add_me_back", IN, "request",
     "back again",
     r"\b(?:back|again) (?:on|onto|in|into|to) (?:the|your|ur|this|that|my) (?:\w+ )?"
     r"(?:list|texts|messages|alerts|subscription|program|club)\b"),
    ("add_me_back", IN, "request",
     "resubscribe re resub resubscribing readd reenroll rejoin reactivate reopt back again "
     "resume",
     r"\b(?:re ?subscribe|re ?sub|resubscribing|re add|readd|re enroll|reenroll|rejoin|"
     r"re join|re activate|reactivate|re opt in|reopt in|opt back in|opt me back in|"
     r"opt in again|sign back up|subscribe again|sign up again|resume (?:my )?"
     r"(?:texts|messages|subscription|alerts))\b"),
    ("subscribe_me", IN, "request",
     "add put sign subscribe opt enroll enrol include count",
     r"\b(?:add|put|sign|subscribe|opt|enroll|enrol|include) (?:me|us|my number|this number) "
     r"(?:up|in|on|onto|to|into)(?: (?:the|your|ur|this) (?:\w+ )?(?:list|texts|alerts|"
     r"messages|program|club))?\b|\bsubscribe me\b|\bsign me up\b|\bopt me in\b|"
     r"\bcount me in\b"),
    ("subscribe_me", IN, "request",
     "subscribe sign opt join back added readded receiving getting again",
     r"\b(?:want|wanna|would like|like|love|need|wish|trying|try|how do i|how can i|can i) "
     r"(?:to )?(?:subscribe|sign up|opt in|join|get back on|be added|be put back|be readded|"
     r"start receiving|start getting|receive (?:the |your |these )?(?:texts|messages|"
     r"alerts|deals) again|get (?:the |your |these )?(?:texts|messages|alerts|deals) again|"
     r"keep receiving|continue receiving)\b|\b(?:want|wanna|would like|need) (?:back in|"
     r"back on|in again)\b"),
    ("send_again", IN, "request",
     "restart resume reactivate renew turn",
     r"\b(?:restart|resume|reactivate|renew|turn on) (?:my |the |your )?(?:texts|messages|"
     r"alerts|subscription|notifications)\b|\bturn (?:my |the )?(?:texts|messages|alerts|"
     r"notifications) back on\b"),
    ("send_again", IN, "request",
     "again back",
     r"\b(?:start|resume|restart|begin) (?:sending|texting|messaging) (?:me )?(?:\w+ )?"
     r"(?:again|back)\b|\b(?:text|message|send) me again\b"),
    ("es_subscribe_me", IN, "request",
     "agreguenme agregame agregarme anadanme anademe anadirme inscribanme inscribeme "
     "inscribirme suscribanme suscribeme suscribirme apuntame apuntenme apuntarme "
     "registrenme registrame volver alta lista recibir vuelvan",
     r"\b(?:agreguenme|agregame|agregarme|anadanme|anademe|anadirme|inscribanme|inscribeme|"
     r"inscribirme|suscribanme|suscribeme|suscribirme|apuntame|apuntenme|apuntarme|"
     r"registrenme|registrame)\b|\bvolver a (?:suscribir|suscribirme|inscribirme|agregar|"
     r"agregarme|anadirme|recibir)\b|\b(?:darme|dame|denme|me doy|doy|dar)"
     r" de alta\b|\b(?:de nuevo|otra vez|nuevamente) (?:en|a) (?:la|su|tu) lista\b|"
     r"\b(?:quiero|deseo|me gustaria|quisiera) (?:volver a )?(?:recibir|seguir recibiendo)"
     r"(?: sus| los| tus| las)? (?:mensajes|textos|ofertas|promociones)(?: de nuevo|"
     r" otra vez)?\b|\bvuelvan a (?:enviarme|mandarme|agregarme|suscribirme|enviar|mandar)\b"),
    # -- help ---------------------------------------------------------------------------
    ("help_me", HELP, "request",
     "help assist assistance support info information",
     r"\b(?:can|could|would|will|pls|please|plz) (?:someone|somebody|anyone|anybody|you|u|"
     r"ya|yall|a human|an agent|a person|a rep|i get) (?:please |pls |plz )?(?:help|assist)\b|"
     r"\b(?:need|want|require|could use|would like|looking for|get|some) (?:some |your |ur |"
     r"a little |a bit of |more )?(?:help|assistance|support)\b|\bhelp (?:me|please|pls|"
     r"plz|needed|us)\b|\b(?:i )?need (?:more |some )?info(?:rmation)?\b|"
     r"\bmore info(?:rmation)? (?:please|pls|on|about)\b"),
    ("help_me", HELP, "request",
     "human person agent rep representative someone somebody support service manager "
     "customer desk helpdesk contact reach",
     r"\b(?:talk|speak|chat) (?:to|with) (?:a |an |someone|somebody|a real |an actual )?"
     r"(?:human|person|agent|rep|representative|someone|somebody|support|customer service|"
     r"manager|real person)\b|\b(?:customer (?:service|support|care)|contact support|"
     r"tech support|help desk|helpdesk)\b|\bhow (?:do|can) i (?:contact|reach|call|email) "
     r"(?:you|support|someone|customer service|a person|a human)\b"),
    ("es_help_me", HELP, "request",
     "ayuda informacion asistencia soporte ayudar ayudarme asistir ayudame ayudenme "
     "ayudan ayudas ayudarian "
     "ayudeme hablar servicio atencion",
     r"\b(?:necesito|quiero|requiero|quisiera|ocupo) (?:ayuda|informacion|asistencia|"
     r"mas informacion|soporte)\b|\b(?:me )?(?:pueden|puede|puedes|podrian|podria) "
     r"(?:ayudar|ayudarme|asistir)\b|\b(?:ayudame|ayudenme|ayudeme)\b|"
     r"\bme (?:ayudan|ayuda|ayudas|ayudarian)\b|"
     r"\bhablar con (?:alguien|una persona|un agente|un representante|servicio al cliente|"
     r"un humano)\b|\bservicio al cliente\b|\batencion al cliente\b"),
    # -- asks to keep receiving -----------------------------------------------------------
    ("refuse_quote", NONE, "keep",
     "no way nope nah never",
     r"\b(?:no way|hell no|nope|nah|never|(?:haha|lol|lmao|hahaha|ha) no)\b"),
    ("keep_sending", NONE, "keep",
     "keep continue love like enjoy want need appreciate staying keeping stay remain sigan "
     "siga continuen sigue gustan encantan",
     r"\b(?:keep|continue|keep on) (?:them|these|those|it|em|the \w+|your \w+|ur \w+|"
     r"sending|texting|messaging|the texts|the deals|the messages)(?: coming| up)?\b|"
     r"\b(?:i )?(?:love|like|enjoy|want|need|appreciate) (?:these|this|it|them|you guys|"
     r"getting these|your texts|"
     r"your deals|the deals|the texts|receiving|getting|your messages|these texts)\b|"
     r"\bim (?:staying|keeping|not leaving|not going anywhere)\b|\b(?:want|wanna|would "
     r"like|like|prefer) to (?:stay|remain|keep (?:getting|receiving|them|these)|continue)\b|"
     r"\b(?:stay|staying|remain) "
     r"(?:subscribed|on the list|in)\b|\b(?:sigan|siga|continuen|continue|sigue) "
     r"(?:enviando|mandando)\w*\b|\bme (?:gustan|encantan) (?:sus |tus |los |estos )?"
     r"(?:mensajes|ofertas|textos)\b"),
]


def _compile() -> tuple[list[tuple[Phrase, re.Pattern[str]]], dict[str, list[int]]]:
    entries: list[tuple[Phrase, re.Pattern[str]]] = []
    by_word: dict[str, list[int]] = {}
    for index, (name, intent, kind, triggers, pattern) in enumerate(_TABLE):
        entries.append((Phrase(name, intent, kind), re.compile(pattern)))
        for word in triggers.split():
            by_word.setdefault(word, []).append(index)
    return entries, by_word


# Each pattern runs only on replies holding one of its trigger words (a word the phrase
# cannot do without): most replies wake two or three patterns, not sixty.
_ENTRIES, _BY_WORD = _compile()
_DOMINANT = ("mention", "quote", "question", "preference")


def find(words: list[str], sentence: str) -> list[tuple[Phrase, int, int]]:
    """Every phrase in ``sentence`` (``words`` joined by spaces), with its character span.
    A STOP sent by mistake or our own line quoted hides any phrase inside it."""
    wanted: set[int] = set()
    for word in words:
        found = _BY_WORD.get(word)
        if found is not None:
            wanted.update(found)
    if not wanted:
        return []
    out: list[tuple[Phrase, int, int]] = []
    hidden: list[tuple[int, int]] = []
    for index in sorted(wanted):
        phrase, pattern = _ENTRIES[index]
        for m in pattern.finditer(sentence):
            start, end = m.span()
            if any(start < h_end and h_start < end for h_start, h_end in hidden):
                continue
            out.append((phrase, start, end))
            if phrase.kind in _DOMINANT:
                hidden.append((start, end))
    return out
