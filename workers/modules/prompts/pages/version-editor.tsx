import { COMMIT_MESSAGE_MAX, VARIABLE_DESCRIPTION_MAX } from "@cuecard/core/limits";
import { VARIABLE_TYPES, type VariableSpec } from "@cuecard/core/prompt";
import { describedBy, FieldError } from "../../../../admin/components/layout";
import { LabelPicker, NEW_LABEL_CHOICE } from "./label-picker";
import {
  chatRoleOptions,
  type FieldErrors,
  type VersionDraft,
  variableDraftOf,
  variableField,
} from "./version-form";

/** The variables found in the template; the script refreshes this list as the author types. */
export function VariableList(props: { variables: VariableSpec[]; error?: string }) {
  return (
    <div class="variables" id="variables" aria-live="polite">
      <h2 class="small-heading">Variables in this template</h2>
      <div id="variables-body">
        {props.error ? (
          <p class="field-error">{props.error}</p>
        ) : props.variables.length === 0 ? (
          <p class="muted">None yet. Write {"{{name}}"} to add one.</p>
        ) : (
          <ul class="chips">
            {props.variables.map((variable) => (
              <li class="chip">
                <code>{variable.name}</code>
                {variable.required ? null : <span class="muted"> optional</span>}
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}

/**
 * What the author declares about each variable the template uses: its type, a default (which
 * makes it optional) and a description for whoever calls the prompt.
 */
function VariableDeclarations(props: {
  draft: VersionDraft;
  variables: VariableSpec[];
  errors: FieldErrors;
}) {
  return (
    <fieldset class="declarations">
      <legend>Variable types, defaults and descriptions</legend>
      {props.variables.length === 0 ? (
        <p class="muted">The template uses no variable yet.</p>
      ) : (
        <p class="hint">
          A default makes a variable optional. Defaults are text for string variables, a number,
          true or false for those types, and JSON for lists and objects.
        </p>
      )}
      {props.variables.map((variable) => {
        const typed = variableDraftOf(props.draft, variable.name);
        const field = (part: "type" | "default" | "description") =>
          variableField(variable.name, part);
        const error = (part: "type" | "default" | "description") => props.errors[field(part)];
        return (
          <div class="declaration">
            <p class="declaration-name">
              <code>{variable.name}</code>
            </p>
            <div class="field">
              <label for={field("type")}>Type of {variable.name}</label>
              <select name={field("type")} {...describedBy(field("type"), error("type"))}>
                {VARIABLE_TYPES.map((type) => (
                  <option value={type} selected={type === typed.type}>
                    {type}
                  </option>
                ))}
              </select>
              <FieldError id={`${field("type")}-error`} message={error("type")} />
            </div>
            <div class="field">
              <label for={field("default")}>Default of {variable.name}</label>
              <input
                type="text"
                name={field("default")}
                value={typed.default}
                autocomplete="off"
                {...describedBy(field("default"), error("default"))}
              />
              <FieldError id={`${field("default")}-error`} message={error("default")} />
            </div>
            <div class="field grow">
              <label for={field("description")}>Description of {variable.name}</label>
              <input
                type="text"
                name={field("description")}
                value={typed.description}
                maxlength={VARIABLE_DESCRIPTION_MAX}
                autocomplete="off"
                {...describedBy(field("description"), error("description"))}
              />
              <FieldError id={`${field("description")}-error`} message={error("description")} />
            </div>
          </div>
        );
      })}
      <button
        type="submit"
        name="intent"
        value="refresh-variables"
        class="button-secondary"
        formnovalidate
      >
        Update variable list
      </button>
    </fieldset>
  );
}

/**
 * The fields of a new version: template or messages, model config, commit message and an
 * optional label to set on save. Used by "new prompt" and "new version" alike.
 */
export function VersionFields(props: {
  draft: VersionDraft;
  errors: FieldErrors;
  variables: { variables: VariableSpec[]; error?: string };
  labelOptions: string[];
}) {
  const { draft, errors } = props;
  return (
    <>
      <div class="editor-grid">
        <div class="editor-main">
          {draft.type === "text" ? (
            <div class="field">
              <label for="prompt">Template</label>
              <p class="hint" id="prompt-hint">
                Mustache syntax: {"{{customer}}"} inserts a variable, {"{{#vip}}…{{/vip}}"} shows
                text only when it is set.
              </p>
              <textarea
                name="prompt"
                rows={12}
                class="mono"
                data-template
                spellcheck={false}
                {...describedBy("prompt", errors.prompt, true)}
              >
                {leadingNewline(draft.text)}
              </textarea>
              <FieldError id="prompt-error" message={errors.prompt} />
            </div>
          ) : (
            <fieldset
              class="messages"
              aria-describedby={errors.messages ? "messages-error" : undefined}
            >
              <legend>Messages</legend>
              <FieldError id="messages-error" message={errors.messages} />
              <input type="hidden" name="messageCount" value={String(draft.messages.length)} />
              {draft.messages.map((message, index) => {
                const base = `messages.${index}`;
                const roleError = errors[`${base}.role`];
                const contentError = errors[`${base}.content`];
                if (message.placeholder !== undefined) {
                  return (
                    <div class="message">
                      <div class="message-head">
                        <span>
                          Message {index + 1}: placeholder <code>{message.placeholder}</code>,
                          filled with the app's own messages when it compiles the prompt
                        </span>
                        <input
                          type="hidden"
                          name={`${base}.placeholder`}
                          value={message.placeholder}
                        />
                        <RemoveMessage index={index} />
                      </div>
                      <FieldError id={`${base}.name-error`} message={errors[`${base}.name`]} />
                    </div>
                  );
                }
                return (
                  <div class="message">
                    <div class="message-head">
                      <label for={`${base}.role`}>Message {index + 1} role</label>
                      <select name={`${base}.role`} {...describedBy(`${base}.role`, roleError)}>
                        {chatRoleOptions(message.role).map((role) => (
                          <option value={role} selected={role === message.role}>
                            {role}
                          </option>
                        ))}
                      </select>
                      <RemoveMessage index={index} />
                    </div>
                    <FieldError id={`${base}.role-error`} message={roleError} />
                    <label for={`${base}.content`} class="visually-hidden">
                      Message {index + 1} content
                    </label>
                    <textarea
                      name={`${base}.content`}
                      rows={5}
                      class="mono"
                      data-template
                      spellcheck={false}
                      {...describedBy(`${base}.content`, contentError)}
                    >
                      {leadingNewline(message.content)}
                    </textarea>
                    <FieldError id={`${base}.content-error`} message={contentError} />
                  </div>
                );
              })}
              <button
                type="submit"
                name="intent"
                value="add-message"
                class="button-secondary"
                formnovalidate
              >
                Add message
              </button>
            </fieldset>
          )}
        </div>
        <aside class="editor-side">
          <VariableList {...props.variables} />
        </aside>
      </div>
      <VariableDeclarations draft={draft} variables={props.variables.variables} errors={errors} />
      <div class="field">
        <label for="config">Model config (JSON)</label>
        <p class="hint" id="config-hint">
          Any JSON object, e.g. {'{"model": "gpt-4o-mini", "temperature": 0.2}'}.
        </p>
        <textarea
          name="config"
          rows={6}
          class="mono"
          spellcheck={false}
          {...describedBy("config", errors.config, true)}
        >
          {leadingNewline(draft.config)}
        </textarea>
        <FieldError id="config-error" message={errors.config} />
      </div>
      <div class="field-row">
        <div class="field grow">
          <label for="commitMessage">Commit message</label>
          <input
            type="text"
            name="commitMessage"
            value={draft.commitMessage}
            maxlength={COMMIT_MESSAGE_MAX}
            placeholder="What changed, and why"
            {...describedBy("commitMessage", errors.commitMessage)}
          />
          <FieldError id="commitMessage-error" message={errors.commitMessage} />
        </div>
        <LabelPicker
          labels={props.labelOptions}
          chosen={draft.label === NEW_LABEL_CHOICE ? draft.newLabel : draft.label}
          isNew={draft.label === NEW_LABEL_CHOICE}
          error={errors.label}
          fieldLabel="Set label on save (optional)"
          hint={'"latest" always moves to the new version.'}
          optional
        />
      </div>
    </>
  );
}

/** Removes a message or placeholder: the form re-renders without it, nothing is saved. */
function RemoveMessage({ index }: { index: number }) {
  return (
    <button
      type="submit"
      name="intent"
      value={`remove-message-${index}`}
      class="button-quiet"
      formnovalidate
    >
      Remove message {index + 1}
    </button>
  );
}

/** The HTML parser drops one newline right after <textarea>; this keeps a template's own. */
function leadingNewline(value: string): string {
  return `\n${value}`;
}

/**
 * Enter in a text field clicks a form's first submit button: "Update variable list", or in a
 * chat editor "Remove message 1". So a hidden save button comes first.
 */
export function DefaultSave() {
  return (
    <button type="submit" name="intent" value="save" class="visually-hidden" tabindex={-1}>
      Save
    </button>
  );
}
