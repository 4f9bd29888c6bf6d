package service

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// ValidationError lists the fields of a value that failed their validate
// tags. Field names are the JSON names.
type ValidationError struct {
	Fields []FieldError
}

// FieldError is one failed rule.
type FieldError struct {
	Field string // JSON path, e.g. "step" or "dids.F190"
	Rule  string // the validate tag that failed, e.g. "min"
	Param string // the rule's parameter, e.g. "1"
	Value any    // the value that failed
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		rule := f.Rule
		if f.Param != "" {
			rule += "=" + f.Param
		}
		parts[i] = fmt.Sprintf("%s: fails %q (got %v)", f.Field, rule, f.Value)
	}
	return "invalid arguments: " + strings.Join(parts, "; ")
}

var (
	validateOnce sync.Once
	validate     *validator.Validate
)

func validatorInstance() *validator.Validate {
	validateOnce.Do(func() {
		validate = validator.New(validator.WithRequiredStructEnabled())
		validate.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch name {
			case "-":
				return ""
			case "":
				return f.Name
			}
			return name
		})
	})
	return validate
}

// Validate checks v's validate tags (github.com/go-playground/validator/v10)
// and returns a *ValidationError naming each failing field and rule. Values
// that are not structs (or pointers to them) are valid.
func Validate(v any) error {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil
	}
	err := validatorInstance().Struct(rv.Interface())
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return fmt.Errorf("validate: %w", err)
	}
	ve := &ValidationError{}
	for _, fe := range verrs {
		ns := fe.Namespace()
		if i := strings.IndexByte(ns, '.'); i >= 0 {
			ns = ns[i+1:] // drop the struct's own name
		}
		ve.Fields = append(ve.Fields, FieldError{Field: ns, Rule: fe.Tag(), Param: fe.Param(), Value: fe.Value()})
	}
	return ve
}
