package dbc_test

import (
	"fmt"

	"github.com/bgkit/bgkit/can/dbc"
)

const exampleDBC = `VERSION ""
BS_:
BU_: ECM
BO_ 256 EngineData: 8 ECM
 SG_ RPM : 0|16@1+ (0.25,0) [0|16000] "rpm" Vector__XXX
 SG_ Temp : 16|8@1+ (1,-40) [-40|215] "degC" Vector__XXX
BA_DEF_ BO_ "GenMsgCycleTime" INT 0 65535;
BA_ "GenMsgCycleTime" BO_ 256 100;
`

func Example() {
	db, err := dbc.Parse("car.dbc", []byte(exampleDBC))
	if err != nil {
		panic(err)
	}
	f, err := db.Encode("EngineData", map[string]float64{"RPM": 2500, "Temp": 90})
	if err != nil {
		panic(err)
	}
	fmt.Println(f)
	msg, _ := db.Decode(f)
	fmt.Println(msg.Name, msg.Signals["RPM"], msg.Signals["Temp"])
	m, _ := db.Message("EngineData")
	fmt.Println(m.ID, m.Length, m.CycleTime)

	_, err = db.Encode("EngineData", map[string]float64{"RPM": 20000})
	fmt.Println(err)
	// Output:
	// 100#1027820000000000
	// EngineData 2500 90
	// 256 8 100ms
	// dbc: encode EngineData: signal RPM: 20000 rpm out of range [0, 16000]
}
