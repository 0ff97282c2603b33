/*
 * priority.cpp: reading and checking the header x-pgmq-priority (see priority.hpp).
 */
#include "pg/priority.hpp"

extern "C" {
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
}

namespace pgmq::pg {

namespace {

constexpr char kPriorityHeader[] = "x-pgmq-priority";

/*
 * FindPriority looks the header up in headers (detoasted jsonb): false when it is missing (or the
 * headers are not an object), else true with the value in *value.
 */
bool
FindPriority(Jsonb *headers, JsonbValue *value) {
	if (!JB_ROOT_IS_OBJECT(headers))
		return false;
	return getKeyJsonValueFromContainer(&headers->root, kPriorityHeader, sizeof(kPriorityHeader) - 1, value) != nullptr;
}

/* NumericPriority converts a JSON number to an int4 priority; false when it has a fraction or is out of range. */
bool
NumericPriority(Numeric number, int32 *priority) {
	bool error = false;
	int32 rounded = numeric_int4_opt_error(number, &error);
	if (error)
		return false;
	/* numeric_int4 rounds: the number is an integer only if it equals the rounded value. */
	Datum same = DirectFunctionCall2(numeric_eq, NumericGetDatum(number), NumericGetDatum(int64_to_numeric(rounded)));
	if (!DatumGetBool(same))
		return false;
	*priority = rounded;
	return true;
}

} // namespace

bool
HeaderPriority(Datum headers, int32 *priority) {
	*priority = 0;
	if (headers == (Datum)0)
		return true;
	JsonbValue value;
	if (!FindPriority(DatumGetJsonbP(headers), &value) || value.type == jbvNull)
		return true;
	if (value.type != jbvNumeric)
		return false;
	if (NumericPriority(value.val.numeric, priority))
		return true;
	*priority = 0;
	return false;
}

void
CheckPriorityHeaders(const Queue *queue, int count, const Datum *headers) {
	if (headers == nullptr)
		return;
	for (int i = 0; i < count; i++) {
		int32 priority;
		if (HeaderPriority(headers[i], &priority))
			continue;
		JsonbValue value;
		FindPriority(DatumGetJsonbP(headers[i]), &value);
		char *shown = JsonbToCString(nullptr, &JsonbValueToJsonb(&value)->root, 0);
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("header x-pgmq-priority must be an integer, got %s", shown),
						errdetail("Queue \"%s\" reads messages by priority: x-pgmq-priority is a JSON number "
								  "without a fraction from -2147483648 to 2147483647; missing or null means 0.",
								  queue->name.text)));
	}
}

} // namespace pgmq::pg
