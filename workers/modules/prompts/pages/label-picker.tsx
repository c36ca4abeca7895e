import { describedBy, FieldError } from "../../../../admin/components/layout";
import { settableLabelName } from "../../../platform/fields";

/** The choice in the label picker that names a new label in the text field. */
export const NEW_LABEL_CHOICE = "+new";

/** A label as the picker's two fields say it: its name, whether it is new, or why it is refused. */
export interface LabelChoice {
  label: string;
  isNew: boolean;
  error?: string;
}

/**
 * The label a picker's fields name: one of `labels`, or a new one only when "New label…" was
 * chosen, so a typo cannot silently create a label.
 */
export function labelChoiceOf(raw: string, typed: string, labels: string[]): LabelChoice {
  if (raw === NEW_LABEL_CHOICE) {
    const name = typed.trim();
    if (name === "") return { label: "", isNew: true, error: "Name the new label." };
    const parsed = settableLabelName.safeParse(name);
    if (!parsed.success) {
      const reason = parsed.error.issues.map((i) => i.message).join("; ");
      return { label: name, isNew: true, error: `This label name is not valid: ${reason}.` };
    }
    return { label: parsed.data, isNew: !labels.includes(parsed.data) };
  }
  if (labels.includes(raw)) return { label: raw, isNew: false };
  return {
    label: raw,
    isNew: true,
    error: `'${raw}' is not a label of this prompt. Choose one from the list, or choose "New label…" to create it.`,
  };
}

/**
 * Existing labels to choose from, and a new one only through the explicit "New label…" choice.
 * `optional` adds a first "No label" choice (the version editor's "set label on save").
 */
export function LabelPicker(props: {
  labels: string[];
  chosen: string;
  isNew: boolean;
  error: string | undefined;
  fieldLabel?: string;
  hint?: string;
  optional?: boolean;
}) {
  const known = props.labels.includes(props.chosen);
  const newChosen = props.isNew || (props.chosen !== "" && !known);
  const pickedError = newChosen ? undefined : props.error;
  return (
    <>
      <div class="field">
        <label for="label">{props.fieldLabel ?? "Label"}</label>
        <select name="label" {...describedBy("label", pickedError, props.hint !== undefined)}>
          {props.optional ? (
            <option value="" selected={!newChosen && props.chosen === ""}>
              No label
            </option>
          ) : null}
          {props.labels.map((name) => (
            <option value={name} selected={!newChosen && name === props.chosen}>
              {name}
            </option>
          ))}
          <option value={NEW_LABEL_CHOICE} selected={newChosen}>
            New label…
          </option>
        </select>
        {props.hint === undefined ? null : (
          <p class="hint" id="label-hint">
            {props.hint}
          </p>
        )}
        <FieldError id="label-error" message={pickedError} />
      </div>
      <div class="field">
        <label for="newLabel">New label name</label>
        <input
          type="text"
          name="newLabel"
          value={newChosen ? props.chosen : ""}
          autocomplete="off"
          {...describedBy("newLabel", newChosen ? props.error : undefined, true)}
        />
        <p class="hint" id="newLabel-hint">
          Used only with "New label…".
        </p>
        <FieldError id="newLabel-error" message={newChosen ? props.error : undefined} />
      </div>
    </>
  );
}
