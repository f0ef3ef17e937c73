/*
 * problem.c — the catalogue of problems and rules, in ru, kk and en.
 *
 * Texts are fixed; "{field}", "{rule}" and "{limit}" are filled in at render
 * time with a field name, a localised rule text and a number — never with a
 * value the client sent, so no personal data can reach an error.
 */
#include "http/problem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/result.h"
#include "common/banned.h"

struct problem_def {
	const char *code;
	int status;
	const char *title[LANG__COUNT];
	const char *detail[LANG__COUNT];
};

static const struct problem_def catalogue[] = {
	{ "malformed_json",
	  400,
	  { "Некорректный JSON", "Жарамсыз JSON", "Malformed JSON" },
	  { "Тело запроса не является корректным JSON в кодировке UTF-8 "
	    "(или повторяет ключ, или вложено глубже {limit} уровней).",
	    "Сұраудың денесі UTF-8 кодындағы жарамды JSON емес (не кілті "
	    "қайталанады, не {limit} деңгейден терең салынған).",
	    "The request body is not valid UTF-8 JSON (or repeats a key, or nests "
	    "deeper than {limit} levels)." } },
	{ "validation_failed",
	  422,
	  { "Ошибка проверки данных", "Деректерді тексеру қатесі", "Validation failed" },
	  { "Поле «{field}»: {rule}.", "«{field}» өрісі: {rule}.",
	    "Field '{field}': {rule}." } },
	{ "filter_invalid",
	  422,
	  { "Неверный фильтр", "Сүзгі қате", "Invalid filter" },
	  { "Параметр «{field}»: {rule}.", "«{field}» параметрі: {rule}.",
	    "Parameter '{field}': {rule}." } },
	{ "export_too_large",
	  413,
	  { "Слишком большая выгрузка", "Шығарылым тым үлкен", "Export too large" },
	  { "Под фильтры подходит больше {limit} записей; сузьте период или фильтры.",
	    "Сүзгілерге {limit} жазбадан көп сәйкес келеді; кезеңді не сүзгілерді "
	    "тарылтыңыз.",
	    "More than {limit} entries match the filters; narrow the period or the "
	    "filters." } },
	{ "invalid_parameter",
	  400,
	  { "Неверный параметр запроса", "Сұрау параметрі қате",
	    "Invalid query parameter" },
	  { "Параметр «{field}»: {rule}.", "«{field}» параметрі: {rule}.",
	    "Parameter '{field}': {rule}." } },
	{ "unsupported_media_type",
	  415,
	  { "Неподдерживаемый тип содержимого", "Қолдау көрсетілмейтін мазмұн түрі",
	    "Unsupported media type" },
	  { "Тело запроса должно иметь тип application/json.",
	    "Сұраудың денесі application/json түрінде болуы керек.",
	    "The request body must be application/json." } },
	{ "body_too_large",
	  413,
	  { "Слишком большой запрос", "Сұрау тым үлкен", "Request body too large" },
	  { "Тело запроса больше допустимых {limit} байт.",
	    "Сұраудың денесі рұқсат етілген {limit} байттан үлкен.",
	    "The request body exceeds the limit of {limit} bytes." } },
	{ "body_not_allowed",
	  400,
	  { "Запрос не принимает тела", "Сұрау дене қабылдамайды",
	    "This request takes no body" },
	  { "Этот запрос отправляется без тела.", "Бұл сұрау денесіз жіберіледі.",
	    "This request is sent without a body." } },
	{ "not_found",
	  404,
	  { "Не найдено", "Табылмады", "Not found" },
	  { "Запрошенный ресурс не существует.", "Сұралған ресурс жоқ.",
	    "The requested resource does not exist." } },
	{ "method_not_allowed",
	  405,
	  { "Метод не поддерживается", "Әдіске қолдау көрсетілмейді",
	    "Method not allowed" },
	  { "Ресурс не поддерживает этот метод; допустимые перечислены в заголовке "
	    "Allow.",
	    "Ресурс бұл әдісті қолдамайды; рұқсат етілгендері Allow тақырыбында "
	    "көрсетілген.",
	    "The resource does not support this method; the Allow header lists those "
	    "it does." } },
	{ "unauthenticated",
	  401,
	  { "Требуется аутентификация", "Аутентификация қажет",
	    "Authentication required" },
	  { "Передайте действующий токен в заголовке Authorization: Bearer.",
	    "Authorization: Bearer тақырыбында жарамды токен жіберіңіз.",
	    "Send a valid token in the Authorization: Bearer header." } },
	{ "invalid_credentials",
	  401,
	  { "Неверные учётные данные", "Тіркелгі деректері қате", "Invalid credentials" },
	  { "Логин, пароль или одноразовый код неверны, либо вход сейчас недоступен.",
	    "Логин, құпиясөз немесе бір реттік код қате, не кіру қазір қолжетімсіз.",
	    "The login, password or one-time code is wrong, or signing in is not "
	    "possible now." } },
	{ "forbidden_role",
	  403,
	  { "Доступ запрещён", "Қол жеткізуге тыйым салынған", "Forbidden" },
	  { "Ваша роль не позволяет выполнять этот запрос.",
	    "Сіздің рөліңіз бұл сұрауды орындауға рұқсат етпейді.",
	    "Your role may not make this request." } },
	{ "enrollment_required",
	  403,
	  { "Требуется подключить второй фактор", "Екінші факторды қосу қажет",
	    "Second factor enrolment required" },
	  { "Сначала получите секрет TOTP: POST /v1/staff/enrollment.",
	    "Алдымен TOTP құпиясын алыңыз: POST /v1/staff/enrollment.",
	    "First obtain a TOTP secret: POST /v1/staff/enrollment." } },
	{ "password_change_required",
	  403,
	  { "Требуется новый пароль", "Жаңа құпиясөз қажет", "New password required" },
	  { "При первом входе задайте новый пароль в поле new_password: от {limit} "
	    "символов и не равный одноразовому.",
	    "Алғаш кіргенде new_password өрісінде жаңа құпиясөз орнатыңыз: кемінде "
	    "{limit} таңба және бір реттік құпиясөзден өзге.",
	    "On first sign-in set a new password in new_password: at least {limit} "
	    "characters and not the one-time password." } },
	{ "policy_version_conflict",
	  409,
	  { "Версия уже опубликована", "Нұсқа жарияланып қойған",
	    "Version already published" },
	  { "Эта версия политики уже опубликована с другим текстом; опубликованные "
	    "версии не изменяются.",
	    "Саясаттың бұл нұсқасы басқа мәтінмен жарияланып қойған; жарияланған "
	    "нұсқалар өзгертілмейді.",
	    "This policy version is already published with other text; published "
	    "versions never change." } },
	{ "policy_not_found",
	  404,
	  { "Версия политики не найдена", "Саясат нұсқасы табылмады",
	    "Policy version not found" },
	  { "Такой версии политики нет; все версии перечислены в GET /v1/policies.",
	    "Саясаттың мұндай нұсқасы жоқ; барлық нұсқалар GET /v1/policies ішінде.",
	    "There is no such policy version; GET /v1/policies lists them all." } },
	{ "policy_not_published",
	  404,
	  { "Политика ещё не опубликована", "Саясат әлі жарияланбаған",
	    "No policy published yet" },
	  { "Ни одна версия политики конфиденциальности ещё не опубликована.",
	    "Құпиялылық саясатының бірде-бір нұсқасы әлі жарияланбаған.",
	    "No version of the privacy policy has been published yet." } },
	{ "purpose_required",
	  400,
	  { "Не указана цель обработки", "Өңдеу мақсаты көрсетілмеген",
	    "Purpose required" },
	  { "Каждое обращение к персональным данным называет цель в заголовке "
	    "Senim-Purpose.",
	    "Дербес деректерге әр жүгіну мақсатты Senim-Purpose тақырыбында атайды.",
	    "Every access to personal data names its purpose in the Senim-Purpose "
	    "header." } },
	{ "purpose_unknown",
	  400,
	  { "Неизвестная цель обработки", "Белгісіз өңдеу мақсаты", "Unknown purpose" },
	  { "Заголовок Senim-Purpose называет цель, которой нет в политике "
	    "конфиденциальности.",
	    "Senim-Purpose тақырыбы құпиялылық саясатында жоқ мақсатты атайды.",
	    "The Senim-Purpose header names a purpose the privacy policy does not "
	    "have." } },
	{ "purpose_not_permitted",
	  403,
	  { "Цель недоступна вашей роли", "Мақсат сіздің рөліңізге рұқсат етілмеген",
	    "Purpose not permitted" },
	  { "Ваша роль не может обрабатывать персональные данные для этой цели.",
	    "Сіздің рөліңіз дербес деректерді бұл мақсатта өңдей алмайды.",
	    "Your role may not process personal data for this purpose." } },
	{ "subject_blocked",
	  403,
	  { "Данные заблокированы", "Деректер бұғатталған", "Data blocked" },
	  { "Данные этого субъекта заблокированы; их можно обрабатывать только для "
	    "исполнения требований закона.",
	    "Бұл субъектінің деректері бұғатталған; оларды тек заң талаптарын орындау "
	    "үшін өңдеуге болады.",
	    "This subject's data is blocked; it may be processed only to meet a legal "
	    "obligation." } },
	{ "purpose_restricted",
	  403,
	  { "Обработка ограничена", "Өңдеу шектелген", "Processing restricted" },
	  { "Субъект ограничил обработку своих данных; эта цель не входит в "
	    "разрешённые.",
	    "Субъект өз деректерін өңдеуді шектеген; бұл мақсат рұқсат етілгендердің "
	    "қатарында жоқ.",
	    "The subject has restricted processing of their data; this purpose is not "
	    "among those still allowed." } },
	{ "category_withheld",
	  403,
	  { "Категория недоступна для цели", "Санат мақсат үшін қолжетімсіз",
	    "Category withheld" },
	  { "Эта категория персональных данных не нужна для указанной цели и не "
	    "выдаётся.",
	    "Дербес деректердің бұл санаты көрсетілген мақсатқа қажет емес және "
	    "берілмейді.",
	    "This category of personal data is not needed for the stated purpose and "
	    "is withheld." } },
	{ "purpose_not_allowed_for_recipient",
	  403,
	  { "Получатель не обслуживает эту цель", "Алушы бұл мақсатқа қызмет етпейді",
	    "Recipient does not serve this purpose" },
	  { "Этому получателю данные для указанной цели (purpose) не передаются: цель "
	    "не указана в реестре получателей или в договоре на обработку.",
	    "Бұл алушыға көрсетілген мақсат (purpose) үшін деректер берілмейді: мақсат "
	    "алушылар тізілімінде немесе өңдеу шартында көрсетілмеген.",
	    "Data are not sent to this recipient for this purpose (purpose): the "
	    "recipients register or the processing agreement does not name it." } },
	{ "field_not_allowed",
	  403,
	  { "Поле не передаётся получателю", "Өріс алушыға берілмейді",
	    "Field not sent to this recipient" },
	  { "Это поле (field) не входит в перечень данных, которые получатель может "
	    "получить для этой цели; ничего не отправлено.",
	    "Бұл өріс (field) алушы осы мақсат үшін ала алатын деректер тізбесіне "
	    "кірмейді; ештеңе жіберілмеді.",
	    "This field (field) is not among the data this recipient may receive for "
	    "this purpose; nothing was sent." } },
	{ "cross_border_country",
	  403,
	  { "Страна не разрешена", "Ел рұқсат етілмеген", "Country not allowed" },
	  { "Трансграничная передача в страну этого получателя не разрешена "
	    "настройками; ничего не отправлено.",
	    "Осы алушының еліне трансшекаралық беруге баптаулар рұқсат етпейді; "
	    "ештеңе жіберілмеді.",
	    "Cross-border transfer to this recipient's country is not allowed by the "
	    "configuration; nothing was sent." } },
	{ "access_limited_by_law",
	  403,
	  { "Доступ ограничен законом", "Қолжетімділік заңмен шектелген",
	    "Access limited by law" },
	  { "Предоставить эти сведения сейчас нельзя: доступ к ним ограничен в случаях, "
	    "установленных законом. Обратитесь в МФО за разъяснением.",
	    "Бұл мәліметтерді қазір беру мүмкін емес: оларға қолжетімділік заңда "
	    "белгіленген жағдайларда шектелген. Түсіндірме үшін МҚҰ-ға жүгініңіз.",
	    "This information cannot be provided now: access to it is limited in the "
	    "cases the law sets. Ask the MFO for an explanation." } },
	{ "recipient_unknown",
	  422,
	  { "Неизвестный получатель", "Белгісіз алушы", "Unknown recipient" },
	  { "Получателя с таким кодом (recipient) нет в реестре получателей, или он не "
	    "предоставляет эту услугу; ничего не отправлено.",
	    "Мұндай кодпен алушы (recipient) алушылар тізілімінде жоқ немесе бұл "
	    "қызметті ұсынбайды; ештеңе жіберілмеді.",
	    "No recipient with this code (recipient) is in the recipients register, or "
	    "it "
	    "does not offer this service; nothing was sent." } },
	{ "exchange_not_configured",
	  503,
	  { "Обмен не настроен", "Алмасу бапталмаған", "Exchange not configured" },
	  { "Сервер запущен без реестра получателей: обмен данными с третьими лицами "
	    "выключен.",
	    "Сервер алушылар тізілімінсіз іске қосылған: үшінші тұлғалармен деректер "
	    "алмасу өшірулі.",
	    "The server runs without a recipients file: exchange with third parties is "
	    "off." } },
	{ "recipient_unavailable",
	  503,
	  { "Получатель недоступен", "Алушы қолжетімсіз", "Recipient unavailable" },
	  { "Получатель сейчас не отвечает или временно отключён после сбоев; повторите "
	    "позже.",
	    "Алушы қазір жауап бермейді немесе ақаулардан кейін уақытша ажыратылған; "
	    "кейінірек қайталаңыз.",
	    "The recipient is not answering, or is paused after failures; try again "
	    "later." } },
	{ "recipient_timeout",
	  504,
	  { "Получатель не ответил вовремя", "Алушы уақытында жауап бермеді",
	    "Recipient timed out" },
	  { "Получатель не ответил в отведённое время; ответ не сохранён.",
	    "Алушы белгіленген уақытта жауап бермеді; жауап сақталмады.",
	    "The recipient did not answer in time; no answer was kept." } },
	{ "recipient_invalid_answer",
	  502,
	  { "Ответ получателя не прошёл проверку", "Алушының жауабы тексеруден өтпеді",
	    "Recipient's answer failed validation" },
	  { "Ответ получателя не соответствует его API; из него ничего не сохранено.",
	    "Алушының жауабы оның API-іне сәйкес келмейді; одан ештеңе сақталмады.",
	    "The recipient's answer does not follow its API; nothing of it was kept." } },
	{ "recipient_wrong_subject",
	  502,
	  { "Ответ о другом человеке", "Басқа адам туралы жауап",
	    "Answer about another person" },
	  { "Получатель ответил о другом человеке; из ответа ничего не сохранено.",
	    "Алушы басқа адам туралы жауап берді; жауаптан ештеңе сақталмады.",
	    "The recipient answered about another person; nothing of it was kept." } },
	{ "recipient_refused",
	  502,
	  { "Получатель отказал", "Алушы бас тартты", "Recipient refused" },
	  { "Получатель отказал в запросе (например, не подтвердил согласие); ответ не "
	    "сохранён.",
	    "Алушы сұраудан бас тартты (мысалы, келісімді растамады); жауап сақталмады.",
	    "The recipient refused the request (for example, it did not confirm the "
	    "consent); no answer was kept." } },
	{ "recipient_person_not_found",
	  422,
	  { "Государственная база не знает этого человека",
	    "Мемлекеттік деректер қоры бұл адамды білмейді",
	    "State database does not know this person" },
	  { "Государственная база данных не нашла человека с этим ИИН; записано "
	    "расхождение (finding), заявленные данные не изменены.",
	    "Мемлекеттік деректер қоры осы ЖСН бойынша адамды таппады; сәйкессіздік "
	    "(finding) жазылды, мәлімделген деректер өзгертілмеді.",
	    "The state database has no person with this IIN; a finding was recorded "
	    "and the declared data were left as they are." } },
	{ "finding_not_found",
	  404,
	  { "Расхождение не найдено", "Сәйкессіздік табылмады", "Finding not found" },
	  { "У этого субъекта нет расхождения с таким идентификатором.",
	    "Бұл субъектіде мұндай идентификаторы бар сәйкессіздік жоқ.",
	    "This subject has no finding with this id." } },
	{ "finding_already_resolved",
	  409,
	  { "Расхождение уже разрешено", "Сәйкессіздік шешіліп қойған",
	    "Finding already resolved" },
	  { "Это расхождение уже разрешено; решение не меняется.",
	    "Бұл сәйкессіздік шешіліп қойған; шешім өзгермейді.",
	    "This finding has been resolved already; its resolution stands." } },
	{ "purpose_read_only",
	  403,
	  { "Цель разрешает только чтение", "Мақсат тек оқуға рұқсат береді",
	    "Purpose may only read" },
	  { "Для этой цели (purpose) данные этой категории (category) можно только "
	    "читать, но не изменять.",
	    "Бұл мақсат (purpose) үшін осы санаттың (category) деректерін тек оқуға "
	    "болады, өзгертуге болмайды.",
	    "This purpose (purpose) may read data of this category (category) but "
	    "never change it." } },
	{ "phone_change_procedure",
	  409,
	  { "Номер для входа меняется отдельно", "Кіру нөмірі бөлек өзгертіледі",
	    "Sign-in phone changes by its own procedure" },
	  { "Мобильный номер — фактор входа заёмщика; запись данных его не меняет. "
	    "Смена номера: заёмщиком (POST /v1/me/phone) или сотрудниками с "
	    "двойным контролем (POST /v1/subjects/{id}/phone-changes).",
	    "Ұялы нөмір — қарыз алушының кіру факторы; деректерді жазу оны "
	    "өзгертпейді. Нөмірді ауыстыру: қарыз алушы (POST /v1/me/phone) немесе "
	    "қызметкерлер қос бақылаумен (POST /v1/subjects/{id}/phone-changes).",
	    "The mobile phone is the borrower's sign-in factor; a data write never "
	    "changes it. It changes by the borrower (POST /v1/me/phone) or by staff "
	    "under maker-checker (POST /v1/subjects/{id}/phone-changes)." } },
	{ "phone_unchanged",
	  409,
	  { "Номер не меняется", "Нөмір өзгермейді", "Phone unchanged" },
	  { "Новый номер совпадает с текущим номером для входа.",
	    "Жаңа нөмір қазіргі кіру нөмірімен бірдей.",
	    "The new number is the current sign-in phone." } },
	{ "phone_change_not_found",
	  404,
	  { "Смена номера не найдена", "Нөмірді ауыстыру табылмады",
	    "Phone change not found" },
	  { "У этого субъекта нет смены номера с таким идентификатором.",
	    "Бұл субъектіде мұндай идентификаторы бар нөмір ауыстыру жоқ.",
	    "This subject has no phone change with this id." } },
	{ "phone_change_not_pending",
	  409,
	  { "Смена номера уже решена", "Нөмірді ауыстыру шешілген",
	    "Phone change no longer pending" },
	  { "Эта смена номера уже подтверждена, отменена или истекла (status).",
	    "Бұл нөмір ауыстыру расталған, бас тартылған немесе мерзімі өткен "
	    "(status).",
	    "This phone change has been approved, superseded or has expired "
	    "already (status)." } },
	{ "phone_change_expired",
	  409,
	  { "Смена номера истекла", "Нөмірді ауыстыру мерзімі өтті",
	    "Phone change expired" },
	  { "Предложение смены номера не подтверждено вовремя; предложите заново.",
	    "Нөмірді ауыстыру ұсынысы уақытында расталмады; қайта ұсыныңыз.",
	    "The phone change was not approved in time; propose it again." } },
	{ "phone_change_self_approval",
	  403,
	  { "Нельзя подтвердить своё предложение", "Өз ұсынысыңызды растауға болмайды",
	    "Cannot approve own proposal" },
	  { "Смену номера подтверждает другой сотрудник, не тот, кто её предложил.",
	    "Нөмір ауыстыруды оны ұсынған емес, басқа қызметкер растайды.",
	    "A phone change is approved by another member of staff than the one who "
	    "proposed it." } },
	{ "phone_change_same_role",
	  403,
	  { "Нужен сотрудник другой роли", "Басқа рөлдегі қызметкер қажет",
	    "Approver of another role required" },
	  { "Смену номера подтверждает сотрудник другой роли, чем предложивший "
	    "(proposer_role).",
	    "Нөмір ауыстыруды ұсынушыдан басқа рөлдегі қызметкер растайды "
	    "(proposer_role).",
	    "A phone change is approved by a member of another role than the "
	    "proposer's (proposer_role)." } },
	{ "phone_change_code_invalid",
	  403,
	  { "Коды не подошли", "Кодтар сәйкес келмеді", "Codes do not match" },
	  { "Коды со старого и нового номера неверны, истекли или исчерпали попытки. "
	    "Начните смену номера заново.",
	    "Ескі және жаңа нөмірдегі кодтар қате, мерзімі өткен немесе әрекеттер "
	    "таусылған. Нөмірді ауыстыруды қайта бастаңыз.",
	    "The codes from the old and the new number are wrong, expired or out of "
	    "attempts. Start the phone change again." } },
	{ "product_not_found",
	  404,
	  { "Продукт не найден", "Өнім табылмады", "Product not found" },
	  { "Продукта с таким кодом (или такой версии) нет.",
	    "Мұндай коды (немесе нұсқасы) бар өнім жоқ.",
	    "There is no product with this code (or this version)." } },
	{ "product_inactive",
	  409,
	  { "Продукт не выдаётся", "Өнім берілмейді", "Product not offered" },
	  { "Этот продукт сейчас не принимает заявок.",
	    "Бұл өнім қазір өтінімдер қабылдамайды.",
	    "This product takes no applications now." } },
	{ "schedule_method_not_offered",
	  422,
	  { "Способ погашения не предлагается", "Өтеу тәсілі ұсынылмайды",
	    "Schedule method not offered" },
	  { "Продукт не предлагает этот способ погашения (schedule_method).",
	    "Өнім бұл өтеу тәсілін (schedule_method) ұсынбайды.",
	    "The product does not offer this schedule method (schedule_method)." } },
	{ "application_outside_product",
	  422,
	  { "Вне условий продукта", "Өнім шарттарынан тыс", "Outside the product" },
	  { "Поле «{field}» вне пределов продукта; граница: {limit}.",
	    "«{field}» өрісі өнім шегінен тыс; шегі: {limit}.",
	    "Field '{field}' is outside the product's range; the bound is {limit}." } },
	{ "loan_rule_breached",
	  422,
	  { "Нарушено требование закона", "Заң талабы бұзылды", "Outside a rule of law" },
	  { "Заявка вне регуляторного правила, действующего сегодня (loan_rule: "
	    "правило, loan_rule_source: его источник).",
	    "Өтінім бүгін қолданыстағы реттеуші ережеден тыс (loan_rule: ереже, "
	    "loan_rule_source: оның көзі).",
	    "The application is outside a regulatory rule in force today (loan_rule: "
	    "the rule, loan_rule_source: its source)." } },
	{ "loan_rules_unavailable",
	  503,
	  { "Правила выдачи не загружены", "Беру ережелері жүктелмеген",
	    "Loan rules unavailable" },
	  { "Сервер запущен без правил выдачи микрокредитов, действующих сегодня; "
	    "заявки не принимаются.",
	    "Сервер бүгін қолданыстағы микрокредит беру ережелерінсіз іске қосылған; "
	    "өтінімдер қабылданбайды.",
	    "The server runs without microcredit rules in force today; no "
	    "application is taken." } },
	{ "application_open_exists",
	  409,
	  { "Уже есть открытая заявка", "Ашық өтінім бар", "An application is open" },
	  { "У заёмщика уже есть заявка в работе; новая — после её завершения или "
	    "отзыва.",
	    "Қарыз алушыда қаралып жатқан өтінім бар; жаңасы — ол аяқталған немесе "
	    "кері қайтарылған соң.",
	    "The borrower has an application in progress; a new one waits until it "
	    "ends or is withdrawn." } },
	{ "application_not_found",
	  404,
	  { "Заявка не найдена", "Өтінім табылмады", "Application not found" },
	  { "Заявки с таким идентификатором нет.",
	    "Мұндай идентификаторы бар өтінім жоқ.",
	    "There is no application with this id." } },
	{ "application_not_open",
	  409,
	  { "Заявка не открыта", "Өтінім ашық емес", "Application not open" },
	  { "Заявка уже отозвана, отклонена или решена (state); она не меняется.",
	    "Өтінім кері қайтарылған, қабылданбаған немесе шешілген (state); ол "
	    "өзгермейді.",
	    "The application has been withdrawn, declined or decided (state); it "
	    "does not change." } },
	{ "application_incomplete",
	  409,
	  { "Заявке не хватает данных", "Өтінімге деректер жетіспейді",
	    "Application incomplete" },
	  { "Заявке не хватает данных или согласий (missing); сначала дайте их или "
	    "откажитесь от них.",
	    "Өтінімге деректер немесе келісімдер жетіспейді (missing); алдымен оларды "
	    "беріңіз немесе бас тартыңыз.",
	    "The application lacks data or consents (missing); give them or refuse "
	    "them first." } },
	{ "application_not_referred",
	  409,
	  { "Заявка не на рассмотрении", "Өтінім қарауда емес",
	    "Application not referred" },
	  { "Решение андеррайтера и блокировка — только для заявки в состоянии referred.",
	    "Андеррайтер шешімі мен бұғаттау — тек referred күйіндегі өтінім үшін.",
	    "An underwriter's decision and the lock are for a referred application "
	    "only." } },
	{ "application_locked",
	  409,
	  { "Заявкой занят другой сотрудник", "Өтініммен басқа қызметкер айналысуда",
	    "Application locked" },
	  { "Заявку взял в работу другой андеррайтер; решает он.",
	    "Өтінімді басқа андеррайтер жұмысқа алды; ол шешеді.",
	    "Another underwriter has taken the case; they decide it." } },
	{ "debt_burden_over_limit",
	  409,
	  { "Превышен предел долговой нагрузки", "Борыш жүктемесінің шегі асып кетті",
	    "Debt burden over the limit" },
	  { "Платежи по долгам с платежом этого предложения превышают {limit} б.п. "
	    "дохода (КДН скоринговой карты, max_debt_burden_bp); заявка не изменилась.",
	    "Осы ұсыныстың төлемімен қоса борыш төлемдері табыстың {limit} б.т. асады "
	    "(скоринг картасының БЖК, max_debt_burden_bp); өтінім өзгерген жоқ.",
	    "The debt payments with this offer's instalment exceed {limit} bp of the "
	    "income (the scorecard's debt-burden limit, max_debt_burden_bp); the "
	    "application has not changed." } },
	{ "debt_burden_unknown",
	  409,
	  { "Долговая нагрузка неизвестна", "Борыш жүктемесі белгісіз",
	    "Debt burden unknown" },
	  { "Без ответа кредитного бюро или заявленного дохода нельзя проверить предел "
	    "{limit} б.п. (max_debt_burden_bp); заявка не изменилась.",
	    "Кредиттік бюроның жауабынсыз не мәлімделген табыссыз {limit} б.т. шегін "
	    "тексеру мүмкін емес (max_debt_burden_bp); өтінім өзгерген жоқ.",
	    "Without the credit bureau's answer or a declared income the limit of "
	    "{limit} bp (max_debt_burden_bp) cannot be checked; the application has "
	    "not changed." } },
	{ "offer_outside_bounds",
	  422,
	  { "Предложение вне допустимых границ", "Ұсыныс рұқсат етілген шектен тыс",
	    "Offer outside its bounds" },
	  { "Поле «{field}»: {rule}; андеррайтер может только уменьшить предложение, "
	    "ничего не изменилось.",
	    "«{field}» өрісі: {rule}; андеррайтер ұсынысты тек азайта алады, ештеңе "
	    "өзгерген жоқ.",
	    "Field '{field}': {rule}; an underwriter may only make the offer smaller, "
	    "nothing changed." } },
	{ "offer_impossible",
	  409,
	  { "Предложение невозможно", "Ұсыныс мүмкін емес", "No offer possible" },
	  { "Лимит скоринговой карты ниже минимума продукта; заявка не изменилась.",
	    "Скоринг картасының лимиті өнімнің ең азынан төмен; өтінім өзгерген жоқ.",
	    "The scorecard's limit is below the product's minimum; the application "
	    "has not changed." } },
	{ "override_not_pending",
	  409,
	  { "Нет решения на подтверждение", "Растайтын шешім жоқ",
	    "No override pending" },
	  { "По заявке нет одобрения андеррайтера, ждущего второго подтверждения.",
	    "Өтінім бойынша екінші растауды күтетін андеррайтер мақұлдауы жоқ.",
	    "The application has no underwriter's approval awaiting a second "
	    "confirmation." } },
	{ "maker_cannot_check",
	  409,
	  { "Нужен другой андеррайтер", "Басқа андеррайтер қажет",
	    "Another underwriter must confirm" },
	  { "Отмену автоматического отказа подтверждает не тот, кто её предложил.",
	    "Автоматты бас тартудың күшін жоюды оны ұсынған адам емес, басқасы растайды.",
	    "An override of an automatic decline is confirmed by someone other than "
	    "its maker." } },
	{ "offer_not_found",
	  404,
	  { "Предложения нет", "Ұсыныс жоқ", "No offer" },
	  { "По этой заявке предложения нет: она не одобрена.",
	    "Бұл өтінім бойынша ұсыныс жоқ: ол мақұлданбаған.",
	    "This application has no offer: it was not approved." } },
	/* The contract and its signature (lending/contracts.h). */
	{ "application_not_approved",
	  409,
	  { "Заявка не одобрена", "Өтінім мақұлданбаған", "Application not approved" },
	  { "Принять можно только одобренное предложение (state); заявка не изменилась.",
	    "Тек мақұлданған ұсынысты қабылдауға болады (state); өтінім өзгерген жоқ.",
	    "Only an approved offer can be accepted (state); the application has not "
	    "changed." } },
	{ "contracts_unavailable",
	  503,
	  { "Договоры не заключаются", "Шарттар жасалмайды", "Contracts unavailable" },
	  { "Сервер запущен без шаблона договора или без реквизитов кредитора; "
	    "заявка не изменилась.",
	    "Сервер шарт үлгісінсіз немесе кредитор деректемелерінсіз іске қосылған; "
	    "өтінім өзгерген жоқ.",
	    "The server runs without the contract's template or the lender's "
	    "details; the application has not changed." } },
	{ "contract_no_phone",
	  409,
	  { "Нет номера для кода", "Код үшін нөмір жоқ", "No phone for the code" },
	  { "У заёмщика нет номера телефона для входа, на который отправляется код "
	    "подписи.",
	    "Қарыз алушының қол қою коды жіберілетін кіру телефон нөмірі жоқ.",
	    "The borrower has no sign-in phone to send the signing code to." } },
	{ "contract_not_found",
	  404,
	  { "Договора нет", "Шарт жоқ", "No contract" },
	  { "По этой заявке договор ещё не составлен: сначала примите предложение.",
	    "Бұл өтінім бойынша шарт әлі жасалмаған: алдымен ұсынысты қабылдаңыз.",
	    "No contract has been made for this application: accept the offer "
	    "first." } },
	{ "contract_signed_already",
	  409,
	  { "Договор уже подписан", "Шартқа қол қойылған", "Contract signed already" },
	  { "Договор по этой заявке уже подписан; ничего не изменилось.",
	    "Бұл өтінім бойынша шартқа қол қойылған; ештеңе өзгерген жоқ.",
	    "The contract of this application is signed already; nothing has "
	    "changed." } },
	{ "contract_not_signed",
	  409,
	  { "Договор не подписан", "Шартқа қол қойылмаған", "Contract not signed" },
	  { "Квитанция о подписании появится после подписания договора.",
	    "Қол қою түбіртегі шартқа қол қойылғаннан кейін пайда болады.",
	    "The signing receipt exists once the contract is signed." } },
	{ "application_not_signed",
	  409,
	  { "Договор не подписан", "Шартқа қол қойылмаған", "Application not signed" },
	  { "Заявка не ждёт выдачи: договор не подписан, или заявка уже выдана или "
	    "отозвана; ничего не изменилось.",
	    "Өтінім берілуді күтпейді: шартқа қол қойылмаған, не өтінім берілген "
	    "немесе кері қайтарылған; ештеңе өзгерген жоқ.",
	    "The application is not waiting for its payout: the contract is not "
	    "signed, or it was paid out or withdrawn already; nothing changed." } },
	{ "payout_confirmation_not_needed",
	  409,
	  { "Подтверждение не требуется", "Растау қажет емес", "No confirmation needed" },
	  { "Срок охлаждения к этому договору не применялся: выдача следует за "
	    "подписанием без повторного подтверждения.",
	    "Бұл шартқа салқындату мерзімі қолданылмаған: беру қол қойылғаннан "
	    "кейін қайта растаусыз жүреді.",
	    "No cooling-off hold applied to this contract: the payout follows the "
	    "signature without a second confirmation." } },
	{ "cooling_off_running",
	  409,
	  { "Срок охлаждения не истёк", "Салқындату мерзімі өтпеген",
	    "Cooling-off not over" },
	  { "Подтвердить получение денег можно только после окончания срока "
	    "охлаждения (payout_due_at в квитанции о подписании); до тех пор "
	    "можно отказаться от займа.",
	    "Ақшаны алуды салқындату мерзімі біткеннен кейін ғана растауға болады "
	    "(қол қою түбіртегіндегі payout_due_at); оған дейін қарыздан бас "
	    "тартуға болады.",
	    "The payout can be confirmed only once the cooling-off hold is over "
	    "(payout_due_at on the signing receipt); until then the loan can be "
	    "cancelled." } },
	{ "payout_in_progress",
	  409,
	  { "Выдача уже начата", "Беру басталды", "Payout in progress" },
	  { "Деньги уже отправлены платёжному провайдеру; отказаться от займа "
	    "теперь можно только досрочным погашением.",
	    "Ақша төлем провайдеріне жіберілді; енді қарыздан тек мерзімінен "
	    "бұрын өтеу арқылы бас тартуға болады.",
	    "The money has been sent to the payment provider; the loan can now be "
	    "ended only by early repayment." } },
	{ "payout_confirmation_expired",
	  409,
	  { "Срок подтверждения истёк", "Растау мерзімі өтті",
	    "Confirmation period over" },
	  { "Получение денег не было подтверждено вовремя после окончания срока "
	    "охлаждения; заявка отозвана, деньги не отправлялись. Можно подать "
	    "новую заявку.",
	    "Салқындату мерзімі біткеннен кейін ақшаны алу уақытында расталмады; "
	    "өтінім кері қайтарылды, ақша жіберілген жоқ. Жаңа өтінім беруге "
	    "болады.",
	    "The payout was not confirmed in time after the cooling-off hold; the "
	    "application was withdrawn and no money was sent. A new application "
	    "may be filed." } },
	{ "payout_not_found",
	  404,
	  { "Выдача не найдена", "Беру табылмады", "Payout not found" },
	  { "По этой заявке выдача не начиналась, или заявки нет.",
	    "Бұл өтінім бойынша беру басталмаған, не өтінім жоқ.",
	    "No payout was started for this application, or there is no such "
	    "application." } },
	{ "payout_not_failed",
	  409,
	  { "Выдача не в ошибке", "Беру қатеде емес", "Payout not failed" },
	  { "Действие применимо только к выдаче, завершившейся ошибкой; эта "
	    "выдача в состоянии state (ожидает, выплачена или уже закрыта); "
	    "ничего не изменилось.",
	    "Әрекет тек қатемен аяқталған беруге қолданылады; бұл беру state "
	    "күйінде (күтуде, төленген не жабылған); ештеңе өзгерген жоқ.",
	    "The act applies only to a payout that failed; this one is in state "
	    "`state` (pending, paid or closed already); nothing changed." } },
	{ "card_not_found",
	  404,
	  { "Карта не найдена", "Карта табылмады", "Card not found" },
	  { "У вас нет карты с таким идентификатором.",
	    "Сізде мұндай сәйкестендіргіші бар карта жоқ.",
	    "You have no card with this id." } },
	{ "card_bindings_pending",
	  409,
	  { "Слишком много незавершённых привязок", "Аяқталмаған байланыстыру тым көп",
	    "Too many bindings pending" },
	  { "Завершите начатые привязки карт на странице платёжного провайдера или "
	    "дождитесь их окончания; новая не начата.",
	    "Басталған карта байланыстыруларын төлем провайдерінің бетінде аяқтаңыз "
	    "не олардың аяқталуын күтіңіз; жаңасы басталмады.",
	    "Finish the card bindings already started on the payment provider's "
	    "page, or wait for them to end; no new one was started." } },
	{ "card_in_use",
	  409,
	  { "Карта указана в подписанной заявке",
	    "Карта қол қойылған өтінімде көрсетілген",
	    "Card named by a signed application" },
	  { "На эту карту ещё не выплачен подписанный заём; её можно удалить после "
	    "выплаты. Карта осталась привязанной.",
	    "Қол қойылған қарыз бұл картаға әлі төленбеді; оны төлемнен кейін жоюға "
	    "болады. Карта байланыста қалды.",
	    "A signed loan is still to be paid out to this card; it can be removed "
	    "once paid out. The card stays bound." } },
	{ "card_number_not_accepted",
	  422,
	  { "Номер карты не принимается", "Карта нөмірі қабылданбайды",
	    "Card number not accepted" },
	  { "Номер карты не вводится в заявку. Привяжите карту на странице "
	    "платёжного провайдера (POST /v1/me/cards) и укажите её идентификатор в "
	    "payout_card.",
	    "Карта нөмірі өтінімге енгізілмейді. Картаны төлем провайдерінің бетінде "
	    "байланыстырыңыз (POST /v1/me/cards) және оның сәйкестендіргішін "
	    "payout_card өрісінде көрсетіңіз.",
	    "A card number is not taken in an application. Bind the card on the "
	    "payment provider's page (POST /v1/me/cards) and name its id in "
	    "payout_card." } },
	{ "payout_card_not_bound",
	  422,
	  { "Карта не привязана", "Карта байланыстырылмаған", "Card not bound" },
	  { "Указанная карта не ваша привязанная карта (привязка не завершена, "
	    "отклонена или карты нет). Привяжите карту: POST /v1/me/cards.",
	    "Көрсетілген карта сіздің байланыстырылған картаңыз емес (байланыстыру "
	    "аяқталмаған, қабылданбаған не карта жоқ). Картаны байланыстырыңыз: "
	    "POST /v1/me/cards.",
	    "The card named is not a card you have bound (the binding is not "
	    "finished, was declined, or there is no such card). Bind a card: "
	    "POST /v1/me/cards." } },
	{ "payout_retry_futile",
	  409,
	  { "Повтор невозможен", "Қайталау мүмкін емес", "Retry futile" },
	  { "Провайдер окончательно отклонил эту операцию или ответил неверно "
	    "(reason); под тем же ключом она не пройдёт. Закройте выдачу или "
	    "урегулируйте её с провайдером; ничего не изменилось.",
	    "Провайдер бұл операцияны түпкілікті қабылдамады не қате жауап берді "
	    "(reason); сол кілтпен ол өтпейді. Беруді жабыңыз не провайдермен "
	    "реттеңіз; ештеңе өзгерген жоқ.",
	    "The provider rejected this operation for good or answered falsely "
	    "(reason); under the same key it cannot pay. Close the payout or "
	    "settle it with the provider; nothing changed." } },
	{ "payout_may_have_been_paid",
	  409,
	  { "Деньги могли уйти", "Ақша кетуі мүмкін", "Money may have gone" },
	  { "Исход отправки неизвестен (reason): деньги могли быть выплачены, "
	    "поэтому выдачу нельзя закрыть как невыданную. После attempts_exhausted "
	    "повтор сначала запросит статус у провайдера; после неверного ответа "
	    "урегулируйте её с провайдером; ничего не изменилось.",
	    "Жіберудің нәтижесі белгісіз (reason): ақша төленген болуы мүмкін, "
	    "сондықтан беруді берілмеген ретінде жабуға болмайды. attempts_exhausted "
	    "кейін қайталау алдымен провайдерден күйін сұрайды; қате жауаптан кейін "
	    "провайдермен реттеңіз; ештеңе өзгерген жоқ.",
	    "The send's outcome is unknown (reason): the money may have been paid, "
	    "so the payout cannot be closed as unpaid. After attempts_exhausted a "
	    "retry first asks the provider for its status; after a false answer, "
	    "settle it with the provider; nothing changed." } },
	{ "signature_code_invalid",
	  422,
	  { "Неверный код", "Код қате", "Wrong code" },
	  { "Код подписи не подходит; осталось попыток: attempts_left.",
	    "Қол қою коды сәйкес келмейді; қалған әрекеттер: attempts_left.",
	    "The signing code does not match; tries left: attempts_left." } },
	{ "signature_code_expired",
	  409,
	  { "Срок кода истёк", "Кодтың мерзімі өтті", "Code expired" },
	  { "Срок кода подписи истёк; примите предложение ещё раз, чтобы получить "
	    "новый код.",
	    "Қол қою кодының мерзімі өтті; жаңа код алу үшін ұсынысты қайта "
	    "қабылдаңыз.",
	    "The signing code has expired; accept the offer again for a new code." } },
	{ "signature_code_locked",
	  409,
	  { "Код заблокирован", "Код бұғатталған", "Code locked" },
	  { "Попытки ввода кода исчерпаны; примите предложение ещё раз, чтобы "
	    "получить новый код.",
	    "Кодты енгізу әрекеттері таусылды; жаңа код алу үшін ұсынысты қайта "
	    "қабылдаңыз.",
	    "No tries are left for this code; accept the offer again for a new "
	    "code." } },
	{ "not_acceptable",
	  406,
	  { "Формат недоступен", "Пішім қолжетімсіз", "Not acceptable" },
	  { "Документ отдаётся как application/pdf или text/html (заголовок Accept).",
	    "Құжат application/pdf немесе text/html ретінде беріледі (Accept "
	    "тақырыбы).",
	    "The document is served as application/pdf or text/html (the Accept "
	    "header)." } },
	{ "decisions_unavailable",
	  503,
	  { "Решения не принимаются", "Шешімдер қабылданбайды", "Decisions unavailable" },
	  { "Скоринговая карта или обмен данными не настроены; заявка не изменилась.",
	    "Скоринг картасы немесе деректер алмасуы бапталмаған; өтінім өзгерген жоқ.",
	    "The scorecard or the data exchange is not configured; the application "
	    "has not changed." } },
	{ "refusal_not_needed",
	  422,
	  { "Отказ не от недостающих данных", "Бас тарту жетіспейтін деректерден емес",
	    "Refusal of data not missing" },
	  { "Отказаться можно только от данных и согласий, которых заявке не хватает "
	    "(missing).",
	    "Тек өтінімге жетіспейтін деректер мен келісімдерден бас тартуға болады "
	    "(missing).",
	    "Only data and consents the application is missing (missing) can be "
	    "refused." } },
	{ "loan_not_found",
	  404,
	  { "Заём не найден", "Қарыз табылмады", "Loan not found" },
	  { "Займа с таким идентификатором нет.", "Мұндай идентификаторы бар қарыз жоқ.",
	    "There is no loan with this id." } },
	{ "loan_closed",
	  409,
	  { "Заём погашен", "Қарыз өтелген", "Loan closed" },
	  { "Заём уже полностью погашен и закрыт; платёж к нему не применяется.",
	    "Қарыз толық өтеліп, жабылған; төлем оған қолданылмайды.",
	    "The loan is repaid in full and closed; no payment applies to it." } },
	{ "payment_reference_reused",
	  409,
	  { "Номер платежа уже использован", "Төлем нөмірі қолданылған",
	    "Payment reference reused" },
	  { "Платёж с этим номером провайдера (provider_ref) уже принят с другими "
	    "данными; повтор должен совпадать с первым.",
	    "Провайдердің осы нөмірімен (provider_ref) төлем басқа деректермен "
	    "қабылданған; қайталау біріншісімен бірдей болуы керек.",
	    "A payment with this provider reference (provider_ref) was taken with "
	    "other data; a repeat must match the first." } },
	{ "restructuring_window_closed",
	  409,
	  { "Срок подачи заявления на реструктуризацию не идёт",
	    "Қайта құрылымдауға өтініш беру мерзімі жүрмейді",
	    "Restructuring window closed" },
	  { "Заявление на реструктуризацию принимается, пока заём просрочен, в течение "
	    "срока со дня начала просрочки (loan_rule: правило, window_days: срок в "
	    "днях, loan_rule_source: его источник).",
	    "Қайта құрылымдауға өтініш қарыз мерзімі өткен кезде, мерзімі өткен күннен "
	    "бастап белгіленген мерзім ішінде қабылданады (loan_rule: ереже, "
	    "window_days: күндер саны, loan_rule_source: оның көзі).",
	    "A restructuring request is taken while the loan is overdue, within the "
	    "window counted from the delay's first day (loan_rule: the rule, "
	    "window_days: its days, loan_rule_source: its source)." } },
	{ "restructuring_open_exists",
	  409,
	  { "Заявление на реструктуризацию уже подано",
	    "Қайта құрылымдауға өтініш берілген", "A restructuring request is open" },
	  { "По этому займу уже есть заявление в работе (restructuring_id); новое — "
	    "после решения по нему.",
	    "Осы қарыз бойынша қаралып жатқан өтініш бар (restructuring_id); жаңасы — "
	    "ол бойынша шешімнен кейін.",
	    "This loan has a request under review (restructuring_id); a new one "
	    "after its decision." } },
	{ "restructuring_proposal_invalid",
	  422,
	  { "Предложение неприменимо к займу", "Ұсыныс қарызға қолданылмайды",
	    "Proposal does not fit the loan" },
	  { "Предложенные условия нельзя применить к этому займу (reason: почему).",
	    "Ұсынылған шарттарды осы қарызға қолдануға болмайды (reason: неліктен).",
	    "The proposed terms cannot apply to this loan (reason: why)." } },
	{ "restructuring_not_found",
	  404,
	  { "Заявление на реструктуризацию не найдено",
	    "Қайта құрылымдауға өтініш табылмады", "Restructuring request not found" },
	  { "Такого заявления нет.", "Мұндай өтініш жоқ.",
	    "There is no such request." } },
	{ "restructuring_decided",
	  409,
	  { "Решение уже принято", "Шешім қабылданған", "Already decided" },
	  { "По заявлению уже принято решение; оно окончательное.",
	    "Өтініш бойынша шешім қабылданған; ол түпкілікті.",
	    "The request is decided already; the decision is final." } },
	{ "hold_exists",
	  409,
	  { "Удержание уже установлено", "Ұстап қалу орнатылған", "Hold already set" },
	  { "На субъекта уже наложено удержание; сначала снимите его.",
	    "Субъектіге ұстап қалу орнатылған; алдымен оны алыңыз.",
	    "The subject is held already; lift that hold first." } },
	{ "hold_not_found",
	  404,
	  { "Удержания нет", "Ұстап қалу жоқ", "No hold" },
	  { "На субъекта не наложено удержание.", "Субъектіге ұстап қалу орнатылмаған.",
	    "The subject is not held." } },
	{ "subject_not_found",
	  404,
	  { "Субъект не найден", "Субъект табылмады", "Subject not found" },
	  { "Субъекта с таким идентификатором нет.",
	    "Мұндай идентификаторы бар субъект жоқ.",
	    "There is no subject with this id." } },
	{ "request_not_found",
	  404,
	  { "Обращение не найдено", "Өтініш табылмады", "Request not found" },
	  { "Обращения с таким идентификатором нет.",
	    "Мұндай идентификаторы бар өтініш жоқ.",
	    "There is no request with this id." } },
	{ "request_closed",
	  409,
	  { "Обращение уже рассмотрено", "Өтініш қаралып қойған",
	    "The request is answered" },
	  { "На обращение уже дан ответ; оно не меняется. Новое требование — новым "
	    "обращением.",
	    "Өтінішке жауап берілген; ол өзгермейді. Жаңа талап — жаңа өтінішпен.",
	    "The request has its answer and does not change; a new demand is a new "
	    "request." } },
	{ "correction_evidence_required",
	  422,
	  { "Нужен подтверждающий документ", "Растайтын құжат қажет",
	    "Evidence required" },
	  { "Исправление данных принимается с документом, который его подтверждает "
	    "(изображение JPEG или PNG, или PDF).",
	    "Деректерді түзету оны растайтын құжатпен қабылданады (JPEG немесе PNG "
	    "суреті, не PDF).",
	    "A correction is taken with a document that supports it (a JPEG or PNG "
	    "image, or a PDF)." } },
	{ "correction_state_sourced",
	  422,
	  { "Поле берётся из государственной базы", "Өріс мемлекеттік базадан алынады",
	    "The field comes from a state database" },
	  { "Это поле берётся из государственной базы данных и исправляется там; "
	    "обратитесь в ЦОН.",
	    "Бұл өріс мемлекеттік дерекқордан алынады және сонда түзетіледі; ХҚКО-ға "
	    "жүгініңіз.",
	    "This field comes from a state database and is corrected there; apply to a "
	    "public service centre." } },
	{ "request_package_not_found",
	  404,
	  { "Пакет сведений не готов", "Мәліметтер пакеті дайын емес",
	    "No access package" },
	  { "По этому обращению пакет сведений не выдан: это не запрос доступа, или "
	    "ответа на него ещё нет.",
	    "Бұл өтініш бойынша мәліметтер пакеті берілмеген: бұл қолжетімділік "
	    "сұрауы емес, немесе оған әлі жауап жоқ.",
	    "No access package was released for this request: it is not an access "
	    "request, or it has no answer yet." } },
	{ "calendar_unavailable",
	  503,
	  { "Нет календаря рабочих дней", "Жұмыс күндерінің күнтізбесі жоқ",
	    "No working-day calendar" },
	  { "Сервер работает без календаря рабочих дней; срок ответа не определить, "
	    "обращение не принято.",
	    "Сервер жұмыс күндерінің күнтізбесінсіз жұмыс істейді; жауап мерзімін "
	    "анықтау мүмкін емес, өтініш қабылданбады.",
	    "The server runs without a working-day calendar; the answer's deadline "
	    "cannot be set, and the request is not taken." } },
	{ "calendar_year_missing",
	  503,
	  { "В календаре нет нужного года", "Күнтізбеде қажетті жыл жоқ",
	    "The calendar lacks a year" },
	  { "Срок ответа приходится на год, которого нет в календаре рабочих дней; "
	    "обращение не принято, ничего не изменено.",
	    "Жауап мерзімі жұмыс күндерінің күнтізбесінде жоқ жылға түседі; өтініш "
	    "қабылданбады, ештеңе өзгермеді.",
	    "The answer's deadline falls in a year the working-day calendar lacks; "
	    "the request is not taken and nothing changed." } },
	{ "record_not_found",
	  404,
	  { "Данных нет", "Деректер жоқ", "No data" },
	  { "В этой категории у субъекта ещё нет данных.",
	    "Бұл санатта субъектінің деректері әлі жоқ.",
	    "The subject has no data in this category yet." } },
	{ "subject_exists",
	  409,
	  { "Субъект уже зарегистрирован", "Субъект тіркеліп қойған",
	    "Subject already registered" },
	  { "Субъект с таким ИИН уже зарегистрирован.",
	    "Мұндай ЖСН-і бар субъект тіркеліп қойған.",
	    "A subject with this IIN is registered already." } },
	{ "consent_required",
	  403,
	  { "Нет согласия субъекта", "Субъектінің келісімі жоқ", "Consent required" },
	  { "Для этой цели нужно согласие субъекта, которого нет (см. missing_consent): "
	    "принятая действующая политика или согласие на рассылку.",
	    "Бұл мақсатқа субъектінің келісімі қажет, ол жоқ (missing_consent қараңыз): "
	    "қолданыстағы саясатты қабылдау немесе жарнамаға келісім.",
	    "This purpose needs a consent the subject has not given (see "
	    "missing_consent): the policy in force, or a marketing consent." } },
	{ "policy_acceptance_required",
	  428,
	  { "Требуется принять политику", "Саясатты қабылдау қажет",
	    "Policy acceptance required" },
	  { "Примите действующую версию политики конфиденциальности "
	    "(POST /v1/me/consents/policy); до этого доступно только её чтение.",
	    "Құпиялылық саясатының қолданыстағы нұсқасын қабылдаңыз "
	    "(POST /v1/me/consents/policy); оған дейін тек оны оқуға болады.",
	    "Accept the privacy policy in force (POST /v1/me/consents/policy); until "
	    "then "
	    "you can only read it." } },
	{ "policy_version_outdated",
	  409,
	  { "Версия политики устарела", "Саясат нұсқасы ескірген",
	    "Policy version outdated" },
	  { "Принять можно только действующую версию политики (current_version).",
	    "Саясаттың тек қолданыстағы нұсқасын қабылдауға болады (current_version).",
	    "Only the policy version in force can be accepted (current_version)." } },
	{ "consent_irrevocable",
	  409,
	  { "Согласие нельзя отозвать", "Келісімді кері қайтарып алуға болмайды",
	    "Consent cannot be withdrawn" },
	  { "Пока у вас есть неисполненное обязательство перед МФО, это согласие "
	    "отозвать нельзя (obligation).",
	    "МҚҰ алдында орындалмаған міндеттемеңіз бар кезде бұл келісімді кері "
	    "қайтарып алуға болмайды (obligation).",
	    "While you have an unfulfilled obligation to the MFO this consent cannot be "
	    "withdrawn (obligation)." } },
	{ "consent_not_found",
	  404,
	  { "Согласие не найдено", "Келісім табылмады", "Consent not found" },
	  { "У вас нет согласия с таким идентификатором.",
	    "Сізде мұндай идентификаторы бар келісім жоқ.",
	    "You have no consent with this id." } },
	{ "consent_withdrawn",
	  409,
	  { "Согласие уже отозвано", "Келісім кері қайтарылып алынған",
	    "Consent already withdrawn" },
	  { "Это согласие уже отозвано.", "Бұл келісім бұрын кері қайтарылып алынған.",
	    "This consent has been withdrawn already." } },
	{ "invalid_code",
	  401,
	  { "Неверный код", "Код қате", "Invalid code" },
	  { "Код неверен, истёк или уже использован, или ИИН не тот, что у "
	    "владельца номера. Запросите новый код.",
	    "Код қате, мерзімі өткен немесе пайдаланылған, не ЖСН нөмір иесінікі "
	    "емес. Жаңа код сұраңыз.",
	    "The code is wrong, expired or used, or the IIN is not the number's "
	    "borrower's. Ask for a new code." } },
	{ "iin_required",
	  409,
	  { "Укажите ИИН", "ЖСН көрсетіңіз", "IIN required" },
	  { "Этим номером телефона пользуются несколько заёмщиков: отправьте код "
	    "ещё раз вместе с вашим ИИН. Код остаётся действительным.",
	    "Бұл телефон нөмірін бірнеше қарыз алушы пайдаланады: кодты ЖСН-іңізбен "
	    "бірге қайта жіберіңіз. Код жарамды болып қалады.",
	    "Several borrowers use this phone number: send the code again with your "
	    "IIN. The code stays valid." } },
	{ "rate_limited",
	  429,
	  { "Слишком много запросов", "Сұраулар тым көп", "Too many requests" },
	  { "Слишком много попыток; повторите после паузы (Retry-After).",
	    "Әрекеттер тым көп; үзілістен кейін қайталаңыз (Retry-After).",
	    "Too many attempts; try again after a pause (Retry-After)." } },
	{ "sms_unavailable",
	  503,
	  { "SMS не отправлено", "SMS жіберілмеді", "SMS not sent" },
	  { "Не удалось отправить SMS с кодом; повторите позже.",
	    "Коды бар SMS жіберу мүмкін болмады; кейінірек қайталаңыз.",
	    "The SMS with the code could not be sent; try again later." } },
	{ "conflict",
	  409,
	  { "Конфликт", "Қайшылық", "Conflict" },
	  { "Запрос противоречит текущему состоянию ресурса.",
	    "Сұрау ресурстың қазіргі күйіне қайшы келеді.",
	    "The request conflicts with the resource's current state." } },
	{ "not_ready",
	  503,
	  { "Сервис не готов", "Қызмет дайын емес", "Not ready" },
	  { "Хранилище недоступно или его схема устарела.",
	    "Қойма қолжетімсіз немесе оның сұлбасы ескірген.",
	    "The store is unreachable or its schema is out of date." } },
	{ "service_unavailable",
	  503,
	  { "Сервис временно недоступен", "Қызмет уақытша қолжетімсіз",
	    "Service unavailable" },
	  { "Сервис не может выполнить запрос сейчас; ничего не изменено, повторите "
	    "позже.",
	    "Қызмет сұрауды қазір орындай алмайды; ештеңе өзгермеді, кейінірек "
	    "қайталаңыз.",
	    "The service cannot serve the request now; nothing changed, try again "
	    "later." } },
	{ "internal_error",
	  500,
	  { "Внутренняя ошибка", "Ішкі қате", "Internal error" },
	  { "Запрос не выполнен и ничего не изменил. Сообщите в поддержку идентификатор "
	    "запроса.",
	    "Сұрау орындалмады және ештеңені өзгертпеді. Қолдау қызметіне сұрау "
	    "идентификаторын хабарлаңыз.",
	    "The request failed and changed nothing. Quote the request id to "
	    "support." } },
};

struct rule_def {
	const char *rule;
	const char *text[LANG__COUNT];
};

static const struct rule_def rules[] = {
	{ "required", { "обязательное поле", "міндетті өріс", "is required" } },
	{ "unknown_field",
	  { "такого поля нет", "мұндай өріс жоқ", "is not a known field" } },
	{ "type_string",
	  { "должно быть строкой", "жол болуы керек", "must be a string" } },
	{ "type_integer",
	  { "должно быть целым числом", "бүтін сан болуы керек", "must be an integer" } },
	{ "type_boolean",
	  { "должно быть true или false", "true немесе false болуы керек",
	    "must be true or false" } },
	{ "type_object",
	  { "должно быть объектом JSON", "JSON нысаны болуы керек",
	    "must be a JSON object" } },
	{ "type_array",
	  { "должно быть массивом JSON", "JSON жиымы болуы керек",
	    "must be a JSON array" } },
	{ "min_length",
	  { "не короче {limit} символов", "кемінде {limit} таңба болуы керек",
	    "must be at least {limit} characters long" } },
	{ "max_length",
	  { "не длиннее {limit} символов (байт для текстов)",
	    "{limit} таңбадан (мәтіндер үшін байттан) аспауы керек",
	    "must be at most {limit} characters (bytes for texts) long" } },
	{ "min_value",
	  { "не меньше {limit}", "кемінде {limit} болуы керек",
	    "must be at least {limit}" } },
	{ "max_value",
	  { "не больше {limit}", "{limit} мәнінен аспауы керек",
	    "must be at most {limit}" } },
	{ "format", { "неверный формат", "пішімі қате", "has the wrong format" } },
	{ "enum_value",
	  { "недопустимое значение", "рұқсат етілмеген мән",
	    "has a value that is not allowed" } },
	{ "one_key",
	  { "укажите только один из ключей: iin, phone или email",
	    "кілттердің тек біреуін көрсетіңіз: iin, phone немесе email",
	    "give only one of the keys iin, phone and email" } },
	{ "immutable",
	  { "нельзя изменить после регистрации", "тіркелгеннен кейін өзгертуге болмайды",
	    "cannot change after registration" } },
	{ "iin_length",
	  { "ИИН состоит ровно из 12 цифр", "ЖСН дәл 12 цифрдан тұрады",
	    "an IIN has exactly 12 digits" } },
	{ "iin_digits",
	  { "ИИН состоит только из цифр", "ЖСН тек цифрлардан тұрады",
	    "an IIN has digits only" } },
	{ "iin_date",
	  { "цифры 1–6 ИИН не образуют существующую дату",
	    "ЖСН-нің 1–6 цифрлары нақты күнді құрамайды",
	    "digits 1-6 of the IIN are not a real date" } },
	{ "iin_century",
	  { "седьмая цифра ИИН должна быть от 1 до 6",
	    "ЖСН-нің жетінші цифры 1-ден 6-ға дейін болуы керек",
	    "the IIN's seventh digit must be 1 to 6" } },
	{ "iin_checksum",
	  { "контрольная цифра ИИН не сходится", "ЖСН-нің бақылау цифры сәйкес келмейді",
	    "the IIN's check digit does not match" } },
	{ "iin_no_checksum",
	  { "с такими цифрами ИИН не существует", "мұндай цифрлармен ЖСН болмайды",
	    "no valid IIN has these digits" } },
	{ "iin_birth_date_mismatch",
	  { "ИИН не соответствует дате рождения", "ЖСН туған күнге сәйкес келмейді",
	    "the IIN does not agree with the birth date" } },
	{ "iin_sex_mismatch",
	  { "ИИН не соответствует полу", "ЖСН жынысқа сәйкес келмейді",
	    "the IIN does not agree with the sex" } },
	{ "forbidden_characters",
	  { "содержит недопустимые символы", "рұқсат етілмеген таңбалар бар",
	    "contains characters that are not allowed" } },
	{ "question_only",
	  { "только для вопроса (type question)", "тек сұрақ үшін (type question)",
	    "is for a question only (type question)" } },
	{ "unknown_staff",
	  { "нет такого сотрудника", "мұндай қызметкер жоқ",
	    "names no member of staff" } },
	{ "correction_only",
	  { "только для исправления (type correction)",
	    "тек түзету үшін (type correction)",
	    "is for a correction only (type correction)" } },
	{ "phone_procedure",
	  { "меняется только процедурой смены телефона",
	    "тек телефонды ауыстыру рәсімімен өзгереді",
	    "changes only through the phone-change procedure" } },
	{ "approve_only",
	  { "только для одобрения (outcome approve)",
	    "тек мақұлдау үшін (outcome approve)",
	    "is for an approval only (outcome approve)" } },
	{ "within_application",
	  { "не больше запрошенного в заявке ({limit})",
	    "өтінімде сұралғаннан ({limit}) аспауы керек",
	    "must be at most what the application asked ({limit})" } },
	{ "within_scorecard_limit",
	  { "не больше лимита скоринговой карты ({limit})",
	    "скоринг картасының лимитінен ({limit}) аспауы керек",
	    "must be at most the scorecard's limit ({limit})" } },
	{ "product_min",
	  { "не меньше минимума продукта ({limit})",
	    "өнімнің ең азынан ({limit}) кем болмауы керек",
	    "must be at least the product's minimum ({limit})" } },
	{ "period_length",
	  { "период должен заканчиваться после начала и быть не длиннее {limit} дней",
	    "кезең басталғаннан кейін аяқталып, {limit} күннен аспауы керек",
	    "the period must end after it starts and last at most {limit} days" } },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const struct problem_def *find(const char *code)
{
	for (size_t i = 0; i < COUNT(catalogue); i++)
		if (strcmp(catalogue[i].code, code) == 0)
			return &catalogue[i];
	return NULL;
}

int problem_known(const char *code)
{
	return code && find(code) != NULL;
}

int problem_status(const char *code)
{
	const struct problem_def *d = code ? find(code) : NULL;
	return d ? d->status : 500;
}

void problem_each(void (*fn)(const char *code, int status, void *ctx), void *ctx)
{
	for (size_t i = 0; i < COUNT(catalogue); i++)
		fn(catalogue[i].code, catalogue[i].status, ctx);
}

const char *problem_code_for_result(int result)
{
	switch (result) {
	case SENIM_ERR_INVALID:
		return "validation_failed";
	case SENIM_ERR_NOT_FOUND:
		return "not_found";
	case SENIM_ERR_CONFLICT:
		return "conflict";
	case SENIM_ERR_DENIED:
		return "forbidden_role";
	case SENIM_ERR_AUTH:
	case SENIM_ERR_LOCKED:
		return "unauthenticated";
	case SENIM_ERR_TOO_LARGE:
		return "body_too_large";
	case SENIM_ERR_UNAVAILABLE:
	case SENIM_ERR_STORE:
		return "service_unavailable";
	default:
		return "internal_error";
	}
}

static const char *rule_text(const char *rule, enum lang lang)
{
	for (size_t i = 0; rule && i < COUNT(rules); i++)
		if (strcmp(rules[i].rule, rule) == 0)
			return rules[i].text[lang];
	return rule ? rule : "";
}

/* Fill "{field}", "{rule}" and "{limit}" into a template (a rule text may
 * name "{limit}" itself).  SENIM_OK or the buf's error. */
static enum senim_result fill(struct buf *out, const char *tmpl, const struct problem *p,
			      enum lang lang)
{
	for (const char *s = tmpl; *s;) {
		enum senim_result err;
		if (strncmp(s, "{field}", 7) == 0) {
			err = buf_addstr(out, p->field ? p->field : "");
			s += 7;
		} else if (strncmp(s, "{rule}", 6) == 0) {
			err = fill(out, rule_text(p->rule, lang), p, lang);
			s += 6;
		} else if (strncmp(s, "{limit}", 7) == 0) {
			err = buf_addf(out, "%lld", p->limit);
			s += 7;
		} else {
			err = buf_addch(out, *s++);
		}
		if (err)
			return err;
	}
	return SENIM_OK;
}

enum senim_result problem_render(struct problem *p, enum lang lang,
				 const char *request_id, struct buf *out)
{
	const struct problem_def *d = find(p->code);
	if (!d)
		d = find("internal_error");
	if ((unsigned)lang >= LANG__COUNT)
		lang = LANG_RU;
	struct buf detail;
	buf_init(&detail, 4096);
	json_t *o = NULL;
	char *text = NULL;
	enum senim_result err = fill(&detail, d->detail[lang], p, lang);
	if (err)
		goto fail;
	err = SENIM_ERR_NOMEM;
	o = json_object();
	if (!o)
		goto fail;
	char type[96];
	snprintf(type, sizeof(type), "urn:senim:problem:%s", d->code);
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "title", json_string(d->title[lang]));
	json_object_set_new(o, "status", json_integer(d->status));
	json_object_set_new(o, "detail", json_string(detail.data));
	json_object_set_new(o, "code", json_string(d->code));
	if (p->field)
		json_object_set_new(o, "field", json_string(p->field));
	if (p->rule)
		json_object_set_new(o, "rule", json_string(p->rule));
	json_object_set_new(o, "request_id", json_string(request_id));
	if (p->extra)
		json_object_update_missing(o, p->extra);
	text = json_dumps(o, JSON_COMPACT);
	if (!text)
		goto fail;
	err = buf_addstr(out, text);
fail:
	buf_wipe_free(text);
	json_decref(o);
	json_decref(p->extra);
	p->extra = NULL;
	buf_release(&detail);
	return err;
}
