package spawn

import "runtime"

func runtimeFuncName(pc uintptr) string {
	if f := runtime.FuncForPC(pc); f != nil {
		return f.Name()
	}
	return "the constructor"
}
