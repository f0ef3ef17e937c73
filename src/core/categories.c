/*
 * categories.c — the field schema of each data category (categories.h).
 *
 * One table per category, in the order D1-D6 list the data, then the
 * biometric images D1 names and D7 sets apart.  Limits, per kind:
 *   TEXT    max_len characters;
 *   DATE    "YYYY-MM-DD" (max_len 10), checked with date_parse_iso();
 *   ENUM    one of `allowed` (max_len is the longest value);
 *   PHONE   max_len characters as typed, stored normalised (+7 E.164);
 *   EMAIL   at most EMAIL_MAX characters, checked with email_valid();
 *   COUNTRY two upper-case letters, checked with country_alpha2_valid();
 *   LIST    at most max_items strings of at most max_len characters each;
 *   PEOPLE  at most max_items objects {relation, name, birth_date}: relation
 *           and name strings of at most max_len characters, birth_date a
 *           DATE;
 *   BLOB    base64 of at most max_len decoded bytes.
 * Field names are unique within a category; the same name in two categories
 * (contact.position, professional.position) is the same fact seen by
 * different purposes.
 */
#include "core/categories.h"

#include <string.h>

#include "core/contact.h"
#include "common/banned.h"

/* clang-format off */
#define TEXT(n, len, what)         { n, FIELD_TEXT, len, 0, NULL, what }
#define DATE(n, what)              { n, FIELD_DATE, 10, 0, NULL, what }
#define ENUM(n, values, len, what) { n, FIELD_ENUM, len, 0, values, what }
#define LIST(n, items, len, what)  { n, FIELD_LIST, len, items, NULL, what }
#define PEOPLE(n, what)            { n, FIELD_PEOPLE, 300, 20, NULL, what }
#define PHONE(n, what)             { n, FIELD_PHONE, 32, 0, NULL, what }
#define BLOB(n, len, what)         { n, FIELD_BLOB, len, 0, NULL, what }
/* clang-format on */

/* A KYC face or signature image is tens to a few hundred KiB; 512 KiB decoded
 * (about 700 KiB of base64) fits the default 1 MiB request body. */
#define BIOMETRIC_MAX ((size_t)512 * 1024)

/* ---- D1 identity ----------------------------------------------------------- */

static const char *const sexes[] = { "M", "F", NULL };
static const char *const document_types[] = { "id_card", "passport", "residence_permit",
					      "other", NULL };

static const struct field_def identity_fields[] = {
	TEXT("surname", 100, "surname"),
	TEXT("given_name", 100, "name"),
	TEXT("patronymic", 100, "patronymic"),
	DATE("birth_date", "date of birth"),
	ENUM("sex", sexes, 1, "sex"),
	{ "citizenship", FIELD_COUNTRY, 2, 0, NULL, "citizenship" },
	TEXT("iin", 12, "IIN (individual identification number); checked with iin.h"),
	ENUM("document_type", document_types, 16, "identity document data: its kind"),
	TEXT("document_number", 32, "identity document data: number"),
	TEXT("document_issued_by", 200, "identity document data: issuing body"),
	DATE("document_issued_at", "identity document data: date of issue"),
	DATE("document_expires_at", "identity document data: date of expiry"),
	TEXT("place_of_birth", 200, "place of birth"),
	TEXT("eds_certificate_serial", 128,
	     "electronic digital signature (EDS): certificate serial number"),
	LIST("identifiers", 20, 200,
	     "seals, facsimiles, codes, identifier words and other data used for "
	     "identification, authentication and authorisation"),
};

/* ---- D2 family and social -------------------------------------------------- */

static const char *const marital_statuses[] = { "single", "married", "divorced",
						"widowed", NULL };

static const struct field_def family_fields[] = {
	ENUM("marital_status", marital_statuses, 8, "marital status"),
	TEXT("spouse_name", 300, "spouse's name"),
	TEXT("spouse_document_number", 32, "spouse's identity document"),
	TEXT("marriage_certificate_number", 32, "marriage certificate"),
	PEOPLE("dependants",
	       "dependants and other family members (relation, names, birth dates)"),
	PEOPLE("represented_persons",
	       "persons the user represents or is the guardian of"),
	TEXT("family_ties_source", 200,
	     "data from the state \"family ties\" database: where and when it came from"),
	TEXT("notes", 2000, "other data the user gives voluntarily"),
};

/* ---- D3 medical (special, D7) ---------------------------------------------- */

static const char *const legal_capacities[] = { "full", "limited", "incapable", NULL };
static const char *const disability_groups[] = { "none", "1", "2", "3", NULL };

static const struct field_def medical_fields[] = {
	ENUM("legal_capacity", legal_capacities, 9, "legal capacity"),
	TEXT("health_status", 2000, "state of health; personal medical data"),
	ENUM("disability_group", disability_groups, 4,
	     "state of health: disability group"),
	TEXT("source_body", 200,
	     "the official state body the legal capacity or health data came from"),
};

/* ---- D4 contact and location ----------------------------------------------- */

static const struct field_def contact_fields[] = {
	PHONE("phone_mobile", "mobile phone number"),
	PHONE("phone_home", "home phone number"),
	PHONE("phone_work", "work phone number"),
	TEXT("phone_encrypted_id", 128,
	     "encrypted phone identifier (from the mobile operator)"),
	{ "email", FIELD_EMAIL, EMAIL_MAX, 0, NULL, "e-mail address" },
	TEXT("registered_address", 500, "registered address"),
	TEXT("actual_address", 500, "actual location"),
	TEXT("address_registry_id", 64,
	     "address-registry data: the address's registry id"),
	TEXT("workplace", 200, "workplace"),
	TEXT("position", 200, "position"),
};

/* ---- D5 education and professional ----------------------------------------- */

static const char *const education_levels[] = {
	"none",	      "primary",	   "basic_secondary", "general_secondary",
	"vocational", "incomplete_higher", "higher",	      "postgraduate",
	NULL
};

static const struct field_def professional_fields[] = {
	ENUM("education", education_levels, 17, "education"),
	TEXT("profession", 200, "profession"),
	TEXT("position", 200, "position"),
	TEXT("employer", 200, "employer"),
	{ "individual_entrepreneur", FIELD_BOOL, 0, 0, NULL,
	  "registration as an individual entrepreneur" },
	TEXT("ie_registration_number", 32,
	     "registration as an individual entrepreneur: registration number"),
	TEXT("criminal_record", 2000, "criminal record"),
	LIST("liability_records", 50, 500, "criminal and administrative liability"),
};

/* ---- D6 device and behaviour ----------------------------------------------- */

static const struct field_def device_fields[] = {
	TEXT("device_id", 200, "device data: device identifier"),
	TEXT("os", 200, "operating system"),
	TEXT("browser", 200, "browser"),
	TEXT("user_agent", 500, "browser and OS as sent (user agent)"),
	LIST("ip_addresses", 100, 45, "IP addresses"),
	LIST("cookie_ids", 100, 200, "cookies and cookie identifiers"),
	LIST("pixel_tags", 100, 200, "pixel tags"),
	LIST("wifi_bssids", 100, 64, "nearby objects: Wi-Fi access points"),
	LIST("cell_towers", 100, 64, "nearby objects: cell towers"),
	LIST("bluetooth_devices", 100, 200, "nearby objects: Bluetooth devices"),
	TEXT("behaviour_notes", 2000, "service history and behavioural patterns"),
	TEXT("sensor_data", 4000, "device and sensor data"),
	TEXT("metadata", 4000, "metadata"),
};

/* ---- D1 biometric images (special, D7) ------------------------------------- */

static const struct field_def biometric_fields[] = {
	BLOB("face_image", BIOMETRIC_MAX, "photo; biometric data (face image)"),
	BLOB("signature_image", BIOMETRIC_MAX, "handwritten signature (image)"),
};

/* clang-format off */
#define FIELDS(a) { a, sizeof(a) / sizeof(a[0]) }
/* clang-format on */

static const struct {
	const struct field_def *fields;
	size_t n;
} schema[CATEGORY__COUNT] = {
	[CATEGORY_IDENTITY] = FIELDS(identity_fields),
	[CATEGORY_FAMILY] = FIELDS(family_fields),
	[CATEGORY_MEDICAL] = FIELDS(medical_fields),
	[CATEGORY_CONTACT] = FIELDS(contact_fields),
	[CATEGORY_PROFESSIONAL] = FIELDS(professional_fields),
	[CATEGORY_DEVICE] = FIELDS(device_fields),
	[CATEGORY_BIOMETRIC] = FIELDS(biometric_fields),
};

/* A static table; *n is 0 and NULL comes back for an out-of-range category. */
const struct field_def *category_fields(enum category c, size_t *n)
{
	if ((int)c < 0 || c >= CATEGORY__COUNT) {
		if (n)
			*n = 0;
		return NULL;
	}
	if (n)
		*n = schema[c].n;
	return schema[c].fields;
}

const struct field_def *category_field(enum category c, const char *name)
{
	size_t n;
	const struct field_def *f = category_fields(c, &n);

	if (!f || !name)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].name, name) == 0)
			return &f[i];
	return NULL;
}
